/**
 * `labtech/s3`: {@link S3Storage}, cache entries in an S3-compatible bucket.
 * A separate entry point so that only users of S3 load `@aws-sdk/client-s3`
 * (an optional peer dependency); importing it registers the `"s3"` storage
 * kind, so a worker that imports it reopens a Lab's S3 storage.
 *
 * @example
 * ```ts
 * import { S3Storage } from "./s3.ts";
 * import assert from "node:assert/strict";
 * const storage = S3Storage.fromUrl("s3://results/sweeps", { endpoint: "http://127.0.0.1:9000" });
 * assert.equal(storage.describe().kind, "s3");
 * storage.destroy();
 * ```
 *
 * @module
 */
export { S3Storage, type S3StorageOptions } from "./storage/s3_storage.ts";
