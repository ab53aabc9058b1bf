export {
  MINIMAX_DEFAULTS,
  type MiniMaxBodyLimits,
  MiniMaxClient,
  type MiniMaxClientOptions,
  type MiniMaxDeadlines,
  type MiniMaxFile,
  type MiniMaxLimiter,
  type SyncSynthesis,
  type UploadPurpose,
  type VoiceType,
} from "./client.ts";
export { errorFromBaseResp, errorFromHttp } from "./errors.ts";
export {
  createMiniMaxProvider,
  type MiniMaxApi,
  type MiniMaxProvider,
  type MiniMaxProviderDefaults,
} from "./provider.ts";
export { toAsyncBody, toSyncBody } from "./request-body.ts";
export {
  type ArchiveLimits,
  ArchiveRejectedError,
  DEFAULT_ARCHIVE_LIMITS,
  readResultArchive,
} from "./result-archive.ts";
export {
  type DeletableVoiceType,
  toVoiceDesignBody,
  VOICE_DESIGN_LIMITS,
  VOICE_ID_PATTERN,
  type VoiceDesignInput,
  VoiceDesignInputSchema,
  VoiceDesignResponseSchema,
} from "./voice-design.ts";
