export {
  AIML_DEFAULTS,
  AimlApiClient,
  type AimlApiClientOptions,
  type AimlBodyLimits,
  type AimlDeadlines,
  type AimlLimiter,
  type AimlTtsAnswer,
  ttsUrl,
} from "./client.ts";
export {
  errorFromAimlDownload,
  errorFromAimlNetwork,
  errorFromAimlResponse,
  parseAimlErrorBody,
} from "./errors.ts";
export { type AimlApi, createAimlApiProvider } from "./provider.ts";
export { aimlEmotion, aimlModelId, aimlWireFormat, toAimlBody } from "./request-body.ts";
export { type AimlTtsBody, AimlTtsBodySchema } from "./schemas.ts";
