/**
 * Where the real Zeek for tests is, and whether its tests run. CI installs
 * it from ../shared/zeek (next to the repository) into /opt/zeek; where that
 * folder is absent the real-Zeek tests report themselves skipped, and where
 * it exists a missing zeek is a failure, not a skip.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `<repo>/../shared/zeek`, from dist/test/helpers. */
export const SHARED_ZEEK = fileURLToPath(new URL('../../../../shared/zeek', import.meta.url));
export const ZEEK = process.env.ZEEK_MGMT_TEST_ZEEK ?? '/opt/zeek/bin/zeek';

/** `false` when the real-Zeek tests run, else why they are skipped. */
export function realZeekSkip(): false | string {
  if (existsSync(ZEEK)) return false;
  if (existsSync(SHARED_ZEEK)) return false; // the tests then fail on the missing binary, loudly
  return `real Zeek is not available here: ${SHARED_ZEEK} is absent (CI installs it from there with install.sh)`;
}

/** Fails with a clear message when the real Zeek should be there and is not. */
export function requireZeek(): string {
  if (!existsSync(ZEEK)) throw new Error(`${SHARED_ZEEK} exists but ${ZEEK} does not: run bash ${SHARED_ZEEK}/install.sh`);
  return ZEEK;
}
