export type {
  AccountsRequestOptions,
  AuthorizationUrlParams,
  ClientCredentials,
  ClientCredentialsGrant,
  TokenGrant,
} from './accounts-client.js';
export {
  authorizationUrl,
  exchangeAuthorizationCode,
  MAX_RETRY_AFTER_MS,
  RATE_LIMIT_RETRY_AFTER_MS,
  refreshAccessToken,
  requestClientCredentialsToken,
  revokeRefreshToken,
} from './accounts-client.js';
export type {
  CustomEnvironmentOptions,
  DataCenter,
  DataCenterCode,
  Environment,
  EnvironmentKind,
  RedirectEnvironmentOptions,
  RedirectParams,
} from './data-centers.js';
export {
  customEnvironment,
  DATA_CENTERS,
  dataCenterOf,
  environmentFor,
  environmentFromRedirect,
  isApiUrlOf,
} from './data-centers.js';
export type { OAuthErrorOptions } from './oauth-error.js';
export { isOAuthError, OAuthError, OAuthErrorCode } from './oauth-error.js';
