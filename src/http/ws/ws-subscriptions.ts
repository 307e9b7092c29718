/**
 * Which sockets follow which topics, on this node. A `drop:<sku>` subscription may name a ticket: it then hears the
 * drop's broadcasts and that ticket's own updates (queue position, admission), never another ticket's.
 */
export interface Subscriber {
  /** topic → the ticket it was subscribed with (drop topics only), or null. */
  readonly topics: Map<string, string | null>;
}

export class SubscriptionIndex<S extends Subscriber> {
  private readonly byTopic = new Map<string, Set<S>>();
  private readonly byTicket = new Map<string, Set<S>>();

  /** Subscribes (again: a new ticket replaces the old one). */
  add(s: S, topic: string, ticket: string | null): void {
    this.remove(s, topic);
    s.topics.set(topic, ticket);
    addTo(this.byTopic, topic, s);
    if (ticket !== null) addTo(this.byTicket, ticketKey(topic, ticket), s);
  }

  /** Unsubscribes; a topic it does not follow is a no-op. */
  remove(s: S, topic: string): void {
    if (!s.topics.has(topic)) return;
    const ticket = s.topics.get(topic)!;
    s.topics.delete(topic);
    removeFrom(this.byTopic, topic, s);
    if (ticket !== null) removeFrom(this.byTicket, ticketKey(topic, ticket), s);
  }

  removeAll(s: S): void {
    for (const topic of [...s.topics.keys()]) this.remove(s, topic);
  }

  /** Every subscriber of the topic (with a ticket or without). */
  subscribers(topic: string): ReadonlySet<S> | undefined {
    return this.byTopic.get(topic);
  }

  /** The subscribers of `topic` that named `ticket`. */
  ticketSubscribers(topic: string, ticket: string): ReadonlySet<S> | undefined {
    return this.byTicket.get(ticketKey(topic, ticket));
  }

  /** Topics with at least one subscriber here. */
  topicCount(): number {
    return this.byTopic.size;
  }
}

/** A newline cannot appear in a topic or a ticket (both printable), so the key is unambiguous. */
function ticketKey(topic: string, ticket: string): string {
  return `${topic}\n${ticket}`;
}

function addTo<S>(map: Map<string, Set<S>>, key: string, s: S): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(s);
}

function removeFrom<S>(map: Map<string, Set<S>>, key: string, s: S): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(s);
  if (set.size === 0) map.delete(key);
}
