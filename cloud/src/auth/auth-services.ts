import type { SqlClient } from '../storage/sql-client.js';
import { ApiTokenStore } from './api-tokens.js';
import { LoginThrottle } from './login-throttle.js';
import { SessionStore } from './sessions.js';
import { UserStore } from './user-store.js';

export interface AuthSettings {
  sessionIdleMinutes: number;
  sessionMaxHours: number;
  secureCookies: boolean | 'auto';
  metricsFromLoopback: boolean;
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  lockoutMinutes: number;
}

export const DEFAULT_AUTH_SETTINGS: AuthSettings = {
  sessionIdleMinutes: 720,
  sessionMaxHours: 24,
  secureCookies: 'auto',
  metricsFromLoopback: true,
  maxFailuresPerAccount: 5,
  maxFailuresPerAddress: 20,
  lockoutMinutes: 15,
};

/** Everything accounts need, over one database. */
export interface AuthServices {
  settings: AuthSettings;
  users: UserStore;
  sessions: SessionStore;
  tokens: ApiTokenStore;
  throttle: LoginThrottle;
}

export function createAuthServices(db: SqlClient, settings: AuthSettings = DEFAULT_AUTH_SETTINGS): AuthServices {
  return {
    settings,
    users: new UserStore(db),
    sessions: new SessionStore(db, { idleMinutes: settings.sessionIdleMinutes, maxHours: settings.sessionMaxHours }),
    tokens: new ApiTokenStore(db),
    throttle: new LoginThrottle(db, { perAccountAndAddress: settings.maxFailuresPerAccount, perAddress: settings.maxFailuresPerAddress, windowMinutes: settings.lockoutMinutes }),
  };
}
