/** Public API of the fake TTS servers and their audio/archive helpers. */
export {
  type AimlFault,
  type AimlResponseMode,
  type FakeAimlApi,
  type FakeAimlApiOptions,
  startFakeAimlApi,
} from "./aimlapi/server.ts";
export { type Mp3FrameHeader, mp3FrameOffsets, parseMp3FrameHeader } from "./audio/mp3.ts";
export {
  buildTar,
  MALICIOUS_TAR_VARIANTS,
  type MaliciousTarOptions,
  type MaliciousTarVariant,
  maliciousTar,
  maliciousTarChunks,
  type TarEntry,
  tarHeader,
} from "./audio/tar.ts";
export {
  durationForText,
  effectiveMp3Bitrate,
  encodeAudio,
  type FakeAudioFormat,
  synthPcm,
  toneFrequencyFor,
} from "./audio/tone.ts";
export type { CommonFault, FaultTarget } from "./common/faults.ts";
export type { RecordedFile, RecordedRequest } from "./common/http.ts";
export {
  type CallbackRecord as DiscordCallbackRecord,
  type DispatchCommandOptions,
  type FakeDiscord,
  type FakeDiscordOptions,
  type FakeMessage as DiscordMessage,
  type Fixtures as DiscordFixtures,
  type InteractionHandle,
  type RecordedRequest as DiscordRequest,
  startClientAndFake,
  startFakeDiscord,
} from "./discord/index.ts";
export type { FakeTask, TaskStatus } from "./minimax/async-tasks.ts";
export {
  type FakeMiniMax,
  type FakeMiniMaxOptions,
  type MiniMaxFault,
  startFakeMiniMax,
} from "./minimax/server.ts";
export type { SubtitleCue } from "./minimax/subtitles.ts";
export { SYSTEM_VOICES, type SystemVoice } from "./minimax/voices.ts";
