export {
  type Auth0Error,
  Auth0UnreachableError,
  InvalidIdentifierError,
  isAuth0Error,
  isRetryable,
  ManagementApiError,
  type ManagementApiErrorInit,
  type TokenFailureReason,
  TokenRequestError,
  type TokenRequestErrorInit,
} from "./errors.js";
export { FleetCache, type FleetCacheOptions } from "./fleet-cache.js";
export {
  type Connection,
  ManagementClient,
  type ManagementClientOptions,
  parseRateLimit,
  type RateLimitInfo,
  type TenantSettings,
} from "./management.js";
export {
  type CallBudget,
  type CallPriority,
  LimiterBusyError,
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitObservation,
} from "./rate-limiter.js";
export { type BudgetStats, SharedBudget, type SharedBudgetOptions } from "./shared-budget.js";
export {
  TenantSettingsCache,
  type TenantSettingsCacheOptions,
} from "./tenant-settings-cache.js";
export {
  APPS_PER_PAGE,
  KEPT_APP_NAMES,
  MAX_APP_PAGES,
  type ThirdPartyApps,
  thirdPartyAppsPath,
} from "./third-party-apps.js";
export { TokenProvider, type TokenProviderOptions } from "./token.js";
export {
  type ObtainOptions,
  SharedTokenCache,
  type SharedTokenCacheOptions,
} from "./token-cache.js";
export {
  type CachedToken,
  type ClientCredential,
  credentialKeyMaterial,
  type TokenOwner,
  TokenSeal,
} from "./token-seal.js";
export {
  createTransport,
  ResponseTooLargeError,
  type Transport,
  type TransportOptions,
  type TransportRequestInit,
  type TransportResponse,
} from "./transport.js";
export { isConnectionId, isConnectionName } from "./validate.js";
