/** Broker's topic matching: a subscription is a prefix of the topic string. */
export function topicMatches(prefixes: readonly string[], topic: string): boolean {
  for (const prefix of prefixes) {
    if (topic.startsWith(prefix)) return true;
  }
  return false;
}
