import type { FakeMessage } from "./messages.ts";
import type { Json } from "./serialize.ts";
import {
  type AutocompleteChoice,
  type CallbackRecord,
  type FakeState,
  type InteractionState,
  type MessagePredicate,
  waitFor,
} from "./state.ts";

/** What a test holds after dispatching an interaction: its callbacks and the messages it produced. */

function describeCallbacks(it: InteractionState): string {
  if (it.callbacks.length === 0) return "no callback arrived";
  return `callbacks: ${it.callbacks
    .map(
      (c) =>
        `type ${c.type} → ${c.status}${c.error ? ` ${c.error.code} ${c.error.message}` : ""} after ${c.ackMs} ms`,
    )
    .join("; ")}`;
}

async function withDetail<T>(promise: Promise<T>, it: InteractionState): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof Error && error.message.includes("timed out")) {
      throw new Error(`${error.message} (interaction ${it.id}: ${describeCallbacks(it)})`);
    }
    throw error;
  }
}

export class InteractionHandleBase {
  readonly id: string;
  readonly token: string;
  /** 2 application command, 3 component, 4 autocomplete, 5 modal submit. */
  readonly type: number;
  protected readonly state: FakeState;
  protected readonly interaction: InteractionState;

  constructor(state: FakeState, interaction: InteractionState) {
    this.state = state;
    this.interaction = interaction;
    this.id = interaction.id;
    this.token = interaction.token;
    this.type = interaction.type;
  }

  /** The INTERACTION_CREATE `d` that was sent. */
  get payload(): Json {
    return this.interaction.payload;
  }

  /** Every callback attempt, accepted or rejected, in arrival order. */
  get callbacks(): CallbackRecord[] {
    return this.interaction.callbacks;
  }

  /** The accepted callback, once there is one. */
  get ack(): CallbackRecord | undefined {
    return this.interaction.ack;
  }

  get ackMs(): number | undefined {
    return this.interaction.ack?.ackMs;
  }

  /** Resolves with the accepted callback (rejected attempts keep it waiting). */
  waitForCallback(timeoutMs = 5000): Promise<CallbackRecord> {
    return withDetail(
      waitFor(this.state, () => this.interaction.ack, timeoutMs, `a callback to interaction ${this.id}`),
      this.interaction,
    );
  }

  /** The message `@original` refers to (own reply, or the component's message after update). */
  original(): FakeMessage | undefined {
    const id = this.interaction.originalId;
    return id ? this.state.store.get(id) : undefined;
  }

  followUps(): FakeMessage[] {
    return this.interaction.followUpIds.flatMap((id) => this.state.store.get(id) ?? []);
  }

  /** Original response (if any) followed by follow-ups, deleted ones included (see `deleted`). */
  messages(): FakeMessage[] {
    const original = this.original();
    return [...(original ? [original] : []), ...this.followUps()];
  }

  /**
   * The first visible response matching `predicate`: the original once it is not "thinking" /
   * pending a deferred update, then follow-ups in order. Re-checked on every change.
   */
  waitForResponse(predicate: MessagePredicate = () => true, timeoutMs = 10_000): Promise<FakeMessage> {
    const it = this.interaction;
    return withDetail(
      waitFor(
        this.state,
        () => {
          const candidates: FakeMessage[] = [];
          const original = this.original();
          if (original && !it.originalPending && !original.deleted) candidates.push(original);
          for (const m of this.followUps()) if (!m.deleted) candidates.push(m);
          return candidates.find(predicate);
        },
        timeoutMs,
        `a response to interaction ${it.id}`,
      ),
      it,
    );
  }
}

export class InteractionHandle extends InteractionHandleBase {
  /** Resolves with the accepted callback record (`type`, `ackMs`, `data`, `files`…). */
  waitForAck(timeoutMs = 5000): Promise<CallbackRecord> {
    return this.waitForCallback(timeoutMs);
  }
}

export class AutocompleteHandle extends InteractionHandleBase {
  /** Resolves with the choices of the accepted type-8 callback. */
  async waitForAck(timeoutMs = 5000): Promise<AutocompleteChoice[]> {
    const record = await this.waitForCallback(timeoutMs);
    return record.choices ?? [];
  }
}
