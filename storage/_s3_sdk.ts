/** Loads the AWS SDK, an optional peer dependency, on first use. */
import type { S3Client } from "npm:@aws-sdk/client-s3@^3.1175.0";
import { StorageError } from "../core/errors.ts";

/** The SDK module. */
export type Sdk = typeof import("npm:@aws-sdk/client-s3@^3.1175.0");
/** The SDK and a client made with it. */
export interface Connection {
  sdk: Sdk;
  client: S3Client;
}

let sdkLoad: Promise<Sdk> | null = null;

/**
 * The SDK, imported on first use (it is an optional peer dependency).
 *
 * @throws {StorageError} saying how to install it when it cannot be loaded.
 */
export function loadSdk(): Promise<Sdk> {
  sdkLoad ??= import("npm:@aws-sdk/client-s3@^3.1175.0").catch((error) => {
    sdkLoad = null;
    throw new StorageError(
      "Cannot use S3Storage: the package @aws-sdk/client-s3 cannot be loaded; install it " +
        "beside labtech (npm install @aws-sdk/client-s3), as it is an optional peer dependency",
      { cause: error },
    );
  });
  return sdkLoad;
}
