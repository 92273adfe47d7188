/** Turns an S3 SDK failure into a StorageError that says why and what to do. */
import { StorageError } from "../core/errors.ts";

/** What an SDK or network error carries that we read. */
interface SdkFailure {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "ConnectionRefused",
]);

const CREDENTIAL_NAMES = new Set([
  "AccessDenied",
  "Forbidden",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "AllAccessDisabled",
]);

/** The short machine reason of a failure: the S3 error code, a network code or the class name. */
export function s3Reason(error: unknown): string {
  const failure = (error ?? {}) as SdkFailure;
  const code = failure.code ?? failure.Code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
  const name = failure.name && failure.name !== "Error" ? failure.name : code ?? "Error";
  const status = failure.$metadata?.httpStatusCode;
  return status !== undefined && name === "UnknownError" ? `HTTP ${status}` : name;
}

/** How to fix a failure of the given reason. */
function fixFor(reason: string, message: string): string {
  if (reason === "NoSuchBucket") return "create the bucket or correct its name";
  if (CREDENTIAL_NAMES.has(reason) || reason === "HTTP 403") {
    return "check the credentials (given, or the SDK's default chain: AWS_ACCESS_KEY_ID/" +
      "AWS_SECRET_ACCESS_KEY, ~/.aws, an instance role) and the bucket's policy";
  }
  if (reason === "CredentialsProviderError") {
    return "give credentials or configure the SDK's default chain (AWS_ACCESS_KEY_ID/" +
      "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials, an instance role)";
  }
  if (/region/i.test(message)) return "give a region or set AWS_REGION";
  if (NETWORK_CODES.has(reason) || reason === "TimeoutError") {
    return "check the endpoint URL and that the S3 server is running and reachable";
  }
  return "check the bucket, endpoint and credentials";
}

/**
 * A StorageError for a failed S3 call: `Cannot <action> in <where>: <reason>
 * (<SDK message>); <fix>`, with the SDK error as its cause.
 */
export function s3Failure(action: string, where: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const reason = s3Reason(error);
  const message = String((error as SdkFailure | undefined)?.message ?? "").trim();
  const detail = message !== "" && message !== reason && message !== "UnknownError"
    ? ` (${message})`
    : "";
  return new StorageError(
    `Cannot ${action} in ${where}: ${reason}${detail}; ${fixFor(reason, message)}`,
    { cause: error },
  );
}

/** True when the SDK reports a missing object (GetObject's NoSuchKey, HeadObject's bare 404). */
export function isMissingObject(error: unknown): boolean {
  const failure = (error ?? {}) as SdkFailure;
  return failure.name === "NoSuchKey" || failure.name === "NotFound" ||
    (failure.$metadata?.httpStatusCode === 404 && failure.name !== "NoSuchBucket");
}
