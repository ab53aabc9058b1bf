/** Public API of the fake Discord (REST + gateway) for end-to-end tests with the real discord.js. */
export type { StoredCommand } from "./commands.ts";
export type {
  BaseDispatchOptions,
  DispatchAutocompleteOptions,
  DispatchCommandOptions,
  DispatchComponentOptions,
  DispatchModalSubmitOptions,
  UserRef,
} from "./dispatch.ts";
export { DiscordError, type FormIssue } from "./errors.ts";
export {
  type DispatchOptions,
  type GatewayOpContext,
  type GatewayOpHandler,
  type GatewaySession,
  INTENTS,
  PRIVILEGED_INTENTS,
} from "./gateway.ts";
export { AutocompleteHandle, InteractionHandle, InteractionHandleBase } from "./handles.ts";
export type { RecordedRequest } from "./http.ts";
export type {
  FakeAttachment,
  FakeMessage,
  MessageSnapshot,
  MessageSource,
  UploadedFile,
} from "./messages.ts";
export { type FakeUpload, OPTION_TYPES, type OptionValue, type RawOption } from "./options.ts";
export { PERMISSIONS, type PermissionInput, type PermissionName, resolvePermissions } from "./permissions.ts";
export { FakeDiscord, type FaultOptions, startFakeDiscord, type VoiceStateOptions } from "./server.ts";
export type {
  AutocompleteChoice,
  CallbackRecord,
  FakeDiscordOptions,
  FakeState,
  GatewayOpRecord,
  MessagePredicate,
} from "./state.ts";
export { type ClientAndFake, DEFAULT_TEST_INTENTS, startClientAndFake } from "./test-client.ts";
export type { FakeSticker, UserMessageOptions } from "./user-messages.ts";
export { MESSAGE_FLAGS } from "./validate-message.ts";
export type {
  ExtraChannelOptions,
  ExtraRoleOptions,
  ExtraUserOptions,
  FixtureChannel,
  FixtureRole,
  Fixtures,
  FixtureUser,
  OverwriteSpec,
} from "./world.ts";
