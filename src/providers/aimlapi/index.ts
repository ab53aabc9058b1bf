export {
  AIML_DEFAULTS,
  type AimlApiClient,
  type AimlApiClientOptions,
  type AimlLogger,
  type AimlTimeouts,
  type AimlTtsAnswer,
  createAimlApiClient,
  ttsUrl,
} from "./client.ts";
export {
  errorFromAimlDownload,
  errorFromAimlNetwork,
  errorFromAimlResponse,
  parseAimlErrorBody,
} from "./errors.ts";
export { createAimlApiProvider } from "./provider.ts";
export { aimlEmotion, aimlModelId, aimlWireFormat, toAimlBody } from "./request-body.ts";
export { type AimlTtsBody, AimlTtsBodySchema } from "./schemas.ts";
