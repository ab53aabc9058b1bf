import { FaultQueue } from "../common/faults.ts";
import type { RecordedRequest, Reply } from "../common/http.ts";
import { SignedObjectStore } from "../common/storage.ts";
import type { FakeTask } from "./async-tasks.ts";
import type { StoredFile } from "./files.ts";
import type { MiniMaxFault, ResolvedMiniMaxOptions } from "./options.ts";
import { SlidingWindow } from "./rate-limit.ts";
import type { DesignedVoice } from "./routes-voice-design.ts";
import { type SystemVoice, voiceCatalog } from "./voices.ts";

/** Everything the fake remembers between requests; `reset()` empties it without restarting the server. */
export interface MiniMaxState {
  opts: ResolvedMiniMaxOptions;
  /** Filled in once the server listens; URLs handed to clients start with it. */
  baseUrl: string;
  requests: RecordedRequest[];
  faults: FaultQueue<MiniMaxFault>;
  tasks: Map<number, FakeTask>;
  /** Uploaded inputs, by file id. */
  files: Map<number, StoredFile>;
  /** Async results, by their (result) file id. */
  results: Map<number, FakeTask>;
  storage: SignedObjectStore;
  synthesisWindow: SlidingWindow;
  queryWindow: SlidingWindow;
  voices: SystemVoice[];
  /** Every voice id t2a accepts: the system voices and the designed ones. */
  voiceIds: Set<string>;
  /** Voices made with voice_design, by id. */
  designed: Map<string, DesignedVoice>;
  /** Deleted voice ids: MiniMax never hands them out again. */
  deletedVoiceIds: Set<string>;
  /** Voice design's own 20 RPM. */
  designWindow: SlidingWindow;
}

export interface RouteContext {
  state: MiniMaxState;
  record: RecordedRequest;
  trace: string;
}

export type RouteHandler = (ctx: RouteContext) => Reply | Promise<Reply>;

export const STORAGE_PREFIX = "/oss/";

export function createState(opts: ResolvedMiniMaxOptions): MiniMaxState {
  const voices = voiceCatalog(opts.voices);
  return {
    opts,
    baseUrl: "",
    requests: [],
    faults: new FaultQueue<MiniMaxFault>(),
    tasks: new Map(),
    files: new Map(),
    results: new Map(),
    storage: new SignedObjectStore(STORAGE_PREFIX, opts.now),
    synthesisWindow: new SlidingWindow(opts.rpm, 60_000, opts.now),
    queryWindow: new SlidingWindow(opts.queryQps, 1000, opts.now),
    voices,
    voiceIds: new Set(voices.map((v) => v.voice_id)),
    designed: new Map(),
    deletedVoiceIds: new Set(),
    designWindow: new SlidingWindow(20, 60_000, opts.now),
  };
}

export function resetState(state: MiniMaxState): void {
  state.requests.length = 0;
  state.faults.clear();
  state.tasks.clear();
  state.files.clear();
  state.results.clear();
  state.storage.clear();
  state.synthesisWindow.reset();
  state.queryWindow.reset();
  state.designWindow.reset();
  for (const id of state.designed.keys()) state.voiceIds.delete(id);
  state.designed.clear();
  state.deletedVoiceIds.clear();
}
