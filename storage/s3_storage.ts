/**
 * `S3Storage`: cache entries as objects in an S3 bucket (AWS, MinIO, R2,
 * Ceph or any S3-compatible server), for Labs and workers on many machines.
 * Importing this module registers the `"s3"` storage kind with
 * `openStorage`. Needs `@aws-sdk/client-s3` (an optional peer dependency),
 * which only this module imports, and only once a storage sends a request:
 * importing it without the SDK installed works, using it says what to install.
 *
 * @module
 */
import type { S3Client, S3ClientConfig } from "npm:@aws-sdk/client-s3@^3.1175.0";
import { TaskNotFound } from "../core/errors.ts";
import { type Storage, type StorageDescription, validateName } from "../core/storage.ts";
import { registerStorageKind } from "./open.ts";
import { isMissingObject, s3Failure } from "./_s3_errors.ts";
import { type Connection, loadSdk } from "./_s3_sdk.ts";
import { BUCKET, checkEndpoint, isValidName, normalizePrefix } from "./_s3_names.ts";

/** The object whose presence makes an entry present: written last, deleted first. */
const COMMIT_FILE = "metadata.json";

/** Options of {@link S3Storage}. */
export interface S3StorageOptions {
  /** The bucket; it must exist. */
  bucket: string;
  /** Folder-like prefix inside the bucket (`"team/labtech"`); default: the bucket's root. */
  prefix?: string;
  /** URL of an S3-compatible server (`http://minio:9000`); default: AWS. */
  endpoint?: string;
  /** Region; default `us-east-1` with an `endpoint`, else the SDK's chain (AWS_REGION, ~/.aws). */
  region?: string;
  /** Address buckets as `endpoint/bucket` (MinIO, Ceph); default: true with an `endpoint`. */
  forcePathStyle?: boolean;
  /** Credentials; default: the SDK's default chain. Never part of `describe()`. */
  credentials?: S3ClientConfig["credentials"];
  /**
   * A ready client to use instead of building one; its own endpoint and
   * credentials apply. `describe()` still reports the options above, so give
   * `endpoint` (and `region`, `forcePathStyle`) too when workers reopen it.
   */
  client?: S3Client;
  /** Objects per list request in `findKeys` (1 to 1000); default 1000. */
  listPageSize?: number;
}

/**
 * Stores each entry as objects `<prefix>/<key>/<filename>`, the layout of
 * LocalStorage, so a storage directory copied into a bucket (`aws s3 sync`)
 * reads as the same cache. An entry is present exactly when its
 * `metadata.json` object exists: `writeEntry` removes the old one first,
 * writes the data objects, and writes `metadata.json` last as the commit, so
 * a half-written entry never reads as present; `delete` removes it first.
 *
 * @example Construct, describe and reopen (no request is sent)
 * ```ts
 * import { S3Storage } from "./s3_storage.ts";
 * import { openStorage } from "./open.ts";
 * import assert from "node:assert/strict";
 *
 * const storage = new S3Storage({
 *   bucket: "results",
 *   prefix: "team/sweeps",
 *   endpoint: "http://127.0.0.1:9000",
 * });
 * assert.deepEqual(storage.describe(), {
 *   kind: "s3",
 *   bucket: "results",
 *   prefix: "team/sweeps",
 *   endpoint: "http://127.0.0.1:9000",
 *   region: "us-east-1",
 *   forcePathStyle: true,
 * });
 * const reopened = await openStorage(storage.describe());
 * assert.ok(reopened instanceof S3Storage);
 * assert.equal(String(reopened), "s3://results/team/sweeps");
 * storage.destroy();
 * (reopened as S3Storage).destroy();
 * ```
 */
export class S3Storage implements Storage {
  /** True: the bytes have been sent once a write resolves. */
  readonly copiesOnWrite = true;
  /** The bucket. */
  readonly bucket: string;
  /** The prefix without slashes at either end; `""` for the bucket's root. */
  readonly prefix: string;
  /** The endpoint URL, or null for AWS. */
  readonly endpoint: string | null;
  /** The region, or null when the SDK's chain decides. */
  readonly region: string | null;
  /** Whether buckets are addressed by path. */
  readonly forcePathStyle: boolean;
  readonly #config: S3ClientConfig;
  #connection: Promise<Connection> | null = null;
  #built: S3Client | null = null;
  readonly #injected: S3Client | null;
  readonly #pageSize: number;
  #bucketChecked = false;

  /**
   * @param options Bucket, prefix, endpoint, region, path style, credentials.
   * @throws {TypeError} when the bucket or prefix is not a valid name.
   * @throws {RangeError} when `listPageSize` is not an integer from 1 to 1000.
   */
  constructor(options: S3StorageOptions) {
    const { bucket, prefix = "", endpoint, credentials, client } = options ?? {};
    if (typeof bucket !== "string" || !BUCKET.test(bucket)) {
      throw new TypeError(
        `Cannot create S3Storage as bucket must be an S3 bucket name (3 to 63 lower-case ` +
          `letters, digits, "." or "-"): got ${JSON.stringify(bucket)}`,
      );
    }
    this.bucket = bucket;
    this.prefix = normalizePrefix(prefix);
    this.endpoint = endpoint ?? null;
    if (this.endpoint !== null) checkEndpoint(this.endpoint);
    this.region = options.region ?? (this.endpoint !== null ? "us-east-1" : null);
    this.forcePathStyle = options.forcePathStyle ?? this.endpoint !== null;
    const pageSize = options.listPageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
      throw new RangeError(
        `Cannot create S3Storage as listPageSize must be an integer from 1 to 1000: got ${pageSize}`,
      );
    }
    this.#pageSize = pageSize;
    this.#config = {
      ...(this.endpoint !== null ? { endpoint: this.endpoint } : {}),
      ...(this.region !== null ? { region: this.region } : {}),
      ...(credentials !== undefined ? { credentials } : {}),
      forcePathStyle: this.forcePathStyle,
      // Checksums only where S3 demands them: many S3-compatible servers reject the newer ones.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    };
    this.#injected = client ?? null;
  }

  /**
   * A storage for an `s3://bucket/prefix` URL, as the cache command takes it.
   *
   * @param url `s3://bucket` or `s3://bucket/some/prefix`.
   * @param options Endpoint, region, path style and credentials, as for the constructor.
   * @returns The storage.
   * @throws {TypeError} when the URL is not an `s3://` URL with a valid bucket.
   *
   * @example
   * ```ts
   * import { S3Storage } from "./s3_storage.ts";
   * import assert from "node:assert/strict";
   * const storage = S3Storage.fromUrl("s3://results/sweeps/2026", { region: "eu-west-1" });
   * assert.equal(storage.bucket, "results");
   * assert.equal(storage.prefix, "sweeps/2026");
   * assert.equal(storage.forcePathStyle, false);
   * assert.throws(() => S3Storage.fromUrl("results/sweeps"), TypeError);
   * storage.destroy();
   * ```
   */
  static fromUrl(
    url: string,
    options: Omit<S3StorageOptions, "bucket" | "prefix"> = {},
  ): S3Storage {
    const match = typeof url === "string" ? /^s3:\/\/([^/]+)\/?(.*)$/.exec(url) : null;
    if (match === null) {
      throw new TypeError(
        `Cannot open storage ${JSON.stringify(url)}: expected s3://bucket or s3://bucket/prefix`,
      );
    }
    return new S3Storage({ ...options, bucket: match[1]!, prefix: match[2]! });
  }

  /**
   * Describes this storage so a worker on another machine reopens it with its
   * own credentials (from its SDK chain): credentials are never included.
   *
   * @returns `{ kind: "s3", bucket, prefix, endpoint, region, forcePathStyle }`.
   */
  describe(): StorageDescription {
    return {
      kind: "s3",
      bucket: this.bucket,
      prefix: this.prefix,
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: this.forcePathStyle,
    };
  }

  /** `s3://bucket/prefix`. */
  toString(): string {
    return `s3://${this.bucket}${this.prefix === "" ? "" : `/${this.prefix}`}`;
  }

  /** Closes the client's connections (when this storage built the client; a given one is left open). */
  destroy(): void {
    this.#built?.destroy();
    this.#built = null;
    this.#connection = null;
  }

  // The SDK and a client, loaded and built on first use.
  #connect(): Promise<Connection> {
    this.#connection ??= loadSdk().then((sdk) => {
      if (this.#injected !== null) return { sdk, client: this.#injected };
      this.#built = new sdk.S3Client(this.#config);
      return { sdk, client: this.#built };
    }).catch((error) => {
      this.#connection = null; // try again on the next call
      throw error;
    });
    return this.#connection;
  }

  #objectKey(key: string, filename?: string): string {
    const folder = this.prefix === "" ? `${key}/` : `${this.prefix}/${key}/`;
    return filename === undefined ? folder : folder + filename;
  }

  async #send<T>(action: string, call: (connection: Connection) => Promise<T>): Promise<T> {
    try {
      return await call(await this.#connect());
    } catch (error) {
      throw s3Failure(action, String(this), error);
    }
  }

  // Names (relative to `base`) of every object under `base`, over every page.
  async #list(action: string, base: string): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.#send(action, ({ sdk, client }) =>
        client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: base,
            MaxKeys: this.#pageSize,
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        ));
      for (const object of page.Contents ?? []) names.push(object.Key?.slice(base.length) ?? "");
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return names;
  }

  /**
   * Keys of every entry whose `metadata.json` exists, sorted; reads every
   * page of the listing.
   *
   * @returns The keys.
   * @throws {StorageError} when the bucket cannot be listed (missing, denied, unreachable).
   */
  async findKeys(): Promise<string[]> {
    const base = this.prefix === "" ? "" : `${this.prefix}/`;
    const keys: string[] = [];
    for (const name of await this.#list("list entries", base)) {
      const slash = name.indexOf("/");
      const key = name.slice(0, slash);
      if (name.slice(slash + 1) === COMMIT_FILE && isValidName(key)) keys.push(key);
    }
    return keys.sort();
  }

  /**
   * Whether the entry's `metadata.json` object exists.
   *
   * @param key The entry's key.
   * @returns True when the entry is present.
   * @throws {StorageError} for an invalid key, a missing bucket, or a failed request.
   */
  async exists(key: string): Promise<boolean> {
    validateName("key", key);
    try {
      const { sdk, client } = await this.#connect();
      await client.send(
        new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key, COMMIT_FILE) }),
      );
      return true;
    } catch (error) {
      if (!isMissingObject(error)) throw s3Failure(`check entry ${key}`, String(this), error);
    }
    // A HEAD of a missing bucket also answers 404: tell the two apart once.
    await this.#checkBucket();
    return false;
  }

  async #checkBucket(): Promise<void> {
    if (this.#bucketChecked) return;
    try {
      const { sdk, client } = await this.#connect();
      await client.send(new sdk.HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      const missing = status === 404
        ? Object.assign(error as Error, { name: "NoSuchBucket" })
        : error;
      throw s3Failure("open the bucket", String(this), missing);
    }
    this.#bucketChecked = true;
  }

  /**
   * The bytes of one object of an entry.
   *
   * @param key The entry's key.
   * @param filename The file within the entry.
   * @returns The bytes.
   * @throws {TaskNotFound} when the object does not exist.
   * @throws {StorageError} for invalid names or a failed request.
   */
  async read(key: string, filename: string): Promise<Uint8Array> {
    validateName("key", key);
    validateName("filename", filename);
    try {
      const { sdk, client } = await this.#connect();
      const object = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key, filename) }),
      );
      if (object.Body === undefined) return new Uint8Array();
      return await object.Body.transformToByteArray();
    } catch (error) {
      if (isMissingObject(error)) {
        throw new TaskNotFound(`Cannot read ${filename} of ${key}: not in ${this}`, {
          cause: error,
        });
      }
      throw s3Failure(`read ${filename} of ${key}`, String(this), error);
    }
  }

  /**
   * Writes one object of an entry. Writing `metadata.json` makes the entry
   * present, so write it last.
   *
   * @param key The entry's key.
   * @param filename The file within the entry.
   * @param data The bytes.
   * @throws {StorageError} for invalid names or a failed request.
   */
  async write(key: string, filename: string, data: Uint8Array): Promise<void> {
    validateName("key", key);
    validateName("filename", filename);
    await this.#put(key, filename, data);
  }

  #put(key: string, filename: string, data: Uint8Array): Promise<unknown> {
    return this.#send(`write ${filename} of ${key}`, ({ sdk, client }) =>
      client.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: this.#objectKey(key, filename),
          Body: data,
          ContentLength: data.byteLength,
        }),
      ));
  }

  /**
   * Replaces an entry: removes the old `metadata.json` (the entry is then
   * absent), removes old objects the new entry lacks, writes the data objects,
   * and writes `metadata.json` last. A failure part way leaves the entry
   * absent, never half-present.
   *
   * @param key The entry's key.
   * @param files Its files by name; must include `metadata.json`, the commit.
   * @throws {TypeError} when `files` has no `metadata.json`.
   * @throws {StorageError} for invalid names or a failed request.
   */
  async writeEntry(key: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    validateName("key", key);
    for (const filename of files.keys()) validateName("filename", filename);
    const commit = files.get(COMMIT_FILE);
    if (commit === undefined) {
      throw new TypeError(
        `Cannot write entry ${key} to ${this}: S3Storage commits an entry by writing its ` +
          `${COMMIT_FILE} last; include a ${COMMIT_FILE} file`,
      );
    }
    await this.#removeObjects(key, (filename) => filename !== COMMIT_FILE && files.has(filename));
    await Promise.all(
      [...files].filter(([name]) => name !== COMMIT_FILE).map(([name, data]) =>
        this.#put(key, name, data)
      ),
    );
    await this.#put(key, COMMIT_FILE, commit);
  }

  /**
   * Removes an entry: `metadata.json` first (the entry is absent from then
   * on), then its other objects. No-op when absent.
   *
   * @param key The entry's key.
   * @throws {StorageError} for an invalid key or a failed request.
   */
  async delete(key: string): Promise<void> {
    validateName("key", key);
    await this.#removeObjects(key, () => false);
  }

  // Deletes metadata.json, then every other object of the entry except those `keep` names.
  async #removeObjects(key: string, keep: (filename: string) => boolean): Promise<void> {
    const remove = (filename: string) =>
      this.#send(`delete ${filename} of ${key}`, ({ sdk, client }) =>
        client.send(
          new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key, filename) }),
        ));
    await remove(COMMIT_FILE);
    const names = (await this.#list(`list entry ${key}`, this.#objectKey(key)))
      .filter((name) => name !== "" && name !== COMMIT_FILE && !keep(name));
    await Promise.all(names.map(remove));
  }
}

/** Rebuilds an S3Storage from its `describe()`; the credentials come from this machine. */
function openDescription(description: StorageDescription): S3Storage {
  const text = (value: unknown) => typeof value === "string" ? value : undefined;
  const endpoint = text(description.endpoint);
  const region = text(description.region);
  return new S3Storage({
    bucket: String(description.bucket),
    prefix: text(description.prefix) ?? "",
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(typeof description.forcePathStyle === "boolean"
      ? { forcePathStyle: description.forcePathStyle }
      : {}),
  });
}

registerStorageKind("s3", openDescription);
