/**
 * Publishes an event to a stream: the event gets the next seq of the
 * stream's current epoch, enters the stream's bounded history, and reaches
 * every subscriber on every node. Resolves after the event is in the history,
 * so a subscriber that resumes afterwards is guaranteed to see it.
 */
export interface StreamPublisher {
  publish(stream: string, data: unknown): Promise<{ epoch: string; seq: number }>;
}
