/**
 * `node:net`'s isIP for the browser bundle (protocol/codec.ts and
 * client/cluster-config.ts check addresses with it): 4, 6 or 0. An IPv6
 * text is checked by the browser's own URL parser.
 */
const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIP(text: string): 0 | 4 | 6 {
  if (V4.test(text)) return 4;
  if (!text.includes(':') || /[^0-9a-fA-F:.]/.test(text)) return 0;
  try {
    new URL(`http://[${text}]/`);
    return 6;
  } catch {
    return 0;
  }
}
