/** Discord's default per-file limit, for interactions that do not state theirs. */
export const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

/** The interaction's `attachment_size_limit`, or Discord's default when it is missing or odd. */
export function uploadLimit(stated: number | null | undefined): number {
  return typeof stated === "number" && Number.isFinite(stated) && stated > 0 ? stated : DEFAULT_UPLOAD_LIMIT;
}
