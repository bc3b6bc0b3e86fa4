/** What the server accepts for accounts, checked before sending so the form can say so at once. */
export const MIN_PASSWORD = 10;
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{1,63}$/;
