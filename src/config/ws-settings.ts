import { z } from 'zod';
import { wsLimits } from './limits.js';

/** The limits of the WebSocket API that operators may change (docs/websocket.md); defaults from wsLimits. */
export interface WsSettings {
  /** WS_FRAME_BYTES_MAX, default 65536 (1024 … 1048576). */
  frameBytesMax: number;
  /** WS_SUBSCRIPTIONS_MAX, default 100 (1 … 10000). */
  subscriptionsPerSocketMax: number;
  /** WS_SOCKETS_PER_IP_MAX, default 64 (1 … 100000). */
  socketsPerIpMax: number;
  /** WS_IDLE_TIMEOUT_S, default 120 (8 … 3600): uWS refuses shorter. */
  idleTimeoutS: number;
  /** WS_COMMANDS_IN_FLIGHT_MAX, default 16 (1 … 1000). */
  commandsInFlightPerSocketMax: number;
  /** WS_SEND_BUFFER_BYTES_MAX, default 1048576 (65536 … 67108864). */
  sendBufferBytesMax: number;
}

const int = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .default(String(fallback));

const schema = z.object({
  WS_FRAME_BYTES_MAX: int(1_024, 1024 * 1024, wsLimits.frameBytesMax),
  WS_SUBSCRIPTIONS_MAX: int(1, 10_000, wsLimits.subscriptionsPerSocketMax),
  WS_SOCKETS_PER_IP_MAX: int(1, wsLimits.socketsMax, wsLimits.socketsPerIpMax),
  WS_IDLE_TIMEOUT_S: int(8, 3_600, wsLimits.idleTimeoutS),
  WS_COMMANDS_IN_FLIGHT_MAX: int(1, 1_000, wsLimits.commandsInFlightPerSocketMax),
  WS_SEND_BUFFER_BYTES_MAX: int(64 * 1024, 64 * 1024 * 1024, wsLimits.sendBufferBytesMax),
});

export const defaultWsSettings: WsSettings = {
  frameBytesMax: wsLimits.frameBytesMax,
  subscriptionsPerSocketMax: wsLimits.subscriptionsPerSocketMax,
  socketsPerIpMax: wsLimits.socketsPerIpMax,
  idleTimeoutS: wsLimits.idleTimeoutS,
  commandsInFlightPerSocketMax: wsLimits.commandsInFlightPerSocketMax,
  sendBufferBytesMax: wsLimits.sendBufferBytesMax,
};

/** Reads the WS_* variables (empty counts as unset); a bad value is a problem naming the variable, for ConfigError. */
export function loadWsSettings(env: NodeJS.ProcessEnv): { ok: true; settings: WsSettings } | { ok: false; problems: string[] } {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('WS_') && v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((i) => `${String(i.path[0])}=${JSON.stringify(env[String(i.path[0])])}: ${i.message}`) };
  }
  const e = parsed.data;
  return {
    ok: true,
    settings: {
      frameBytesMax: e.WS_FRAME_BYTES_MAX,
      subscriptionsPerSocketMax: e.WS_SUBSCRIPTIONS_MAX,
      socketsPerIpMax: e.WS_SOCKETS_PER_IP_MAX,
      idleTimeoutS: e.WS_IDLE_TIMEOUT_S,
      commandsInFlightPerSocketMax: e.WS_COMMANDS_IN_FLIGHT_MAX,
      sendBufferBytesMax: e.WS_SEND_BUFFER_BYTES_MAX,
    },
  };
}
