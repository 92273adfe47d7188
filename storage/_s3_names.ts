/** Checks of S3Storage's bucket, prefix and endpoint options. */
import { validateName } from "../core/storage.ts";

/** S3's bucket naming rule (3 to 63 lower-case letters, digits, "." or "-"). */
export const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** True when `name` passes `validateName`. */
export function isValidName(name: string): boolean {
  try {
    validateName("key", name);
    return true;
  } catch {
    return false;
  }
}

/** The prefix without slashes at its ends; every part a valid name. */
export function normalizePrefix(prefix: string): string {
  if (typeof prefix !== "string") {
    throw new TypeError(`Cannot create S3Storage as prefix must be a string: got ${typeof prefix}`);
  }
  const trimmed = prefix.replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "";
  for (const segment of trimmed.split("/")) {
    if (!isValidName(segment)) {
      throw new TypeError(
        `Cannot create S3Storage as prefix ${JSON.stringify(prefix)} has the part ` +
          `${JSON.stringify(segment)}: each part must be letters, digits, "_", "." or "-" ` +
          `and not start with "." or "-"`,
      );
    }
  }
  return trimmed;
}

/** Throws a TypeError unless `endpoint` is an http(s) URL. */
export function checkEndpoint(endpoint: string): void {
  let url: URL | null = null;
  try {
    url = new URL(endpoint);
  } catch {
    // reported below
  }
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new TypeError(
      `Cannot create S3Storage as endpoint must be an http:// or https:// URL: got ` +
        JSON.stringify(endpoint),
    );
  }
}
