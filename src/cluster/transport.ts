/**
 * Node-to-node transport (DESIGN.md, "Nodes talk to each other"): TCP, length-prefixed msgpack frames, request and
 * reply matched by correlation ids. This module is the entry point; each part lives in its own file.
 */
export { startTransportServer, type RequestHandler, type TransportServer, type TransportServerOptions } from './transport-server.js';
export { PeerClient, reconnectDelayMs, type PeerClientEvents, type PeerClientOptions, type PeerLinkState } from './peer-client.js';
export { PeerPool, type PeerAddress, type PeerPoolClientOptions } from './peer-pool.js';
export { TransportError, remoteTransportCodes, type TransportErrorCode, type TransportOutcome } from './transport-error.js';
export { transportLimits } from '../config/limits.js';
export { FrameDecoder, FrameSizeError, ProtocolError, encodeFrame, frameKind, protocolVersion, type Frame } from './frames.js';
