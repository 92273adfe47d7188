/**
 * The cache command's `--storage s3://bucket/prefix [--endpoint URL]`: an
 * S3Storage whose credentials and region come from the SDK's default chain
 * (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_REGION, ~/.aws, an instance role).
 *
 * @module
 */
import { S3Storage } from "../storage/s3_storage.ts";

/** True when a `--storage` argument names an S3 location rather than a directory. */
export function isS3Arg(storage: string): boolean {
  return storage.startsWith("s3://");
}

/**
 * Opens the storage a `--storage s3://...` argument names.
 *
 * @param url `s3://bucket` or `s3://bucket/prefix`.
 * @param endpoint `--endpoint`: an S3-compatible server's URL; null or absent for AWS.
 * @returns The storage (requests are sent only when it is used).
 * @throws {TypeError} when the URL or the endpoint is malformed.
 *
 * @example
 * ```ts
 * import { openS3Arg } from "./_s3_arg.ts";
 * import assert from "node:assert/strict";
 * const storage = openS3Arg("s3://results/sweeps", "http://127.0.0.1:9000");
 * assert.equal(String(storage), "s3://results/sweeps");
 * assert.equal(storage.forcePathStyle, true);
 * storage.destroy();
 * ```
 */
export function openS3Arg(url: string, endpoint: string | null = null): S3Storage {
  return S3Storage.fromUrl(url, endpoint === null ? {} : { endpoint });
}
