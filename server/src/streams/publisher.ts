/**
 * Publishes an event to a stream: the event gets the next seq of the
 * stream's current epoch, enters the stream's bounded history, and reaches
 * every subscriber on every node. Resolves after the event is in the history,
 * so a subscriber that resumes afterwards is guaranteed to see it.
 */
export interface StreamPublisher {
  publish(stream: string, data: unknown): Promise<{ epoch: string; seq: number }>;
}

/** One event of a batch: the stream it goes to and its data. */
export interface BatchEvent {
  stream: string;
  data: unknown;
}

/**
 * A publisher that also takes several events at once. Events of one stream
 * get consecutive seqs in the batch's order and travel to every node as one
 * bus message, so a node hands them to its sockets in one turn of its event
 * loop and they leave each socket together (one write instead of one each).
 */
export interface StreamBatchPublisher extends StreamPublisher {
  publishBatch(events: readonly BatchEvent[]): Promise<{ stream: string; epoch: string; seq: number }[]>;
}
