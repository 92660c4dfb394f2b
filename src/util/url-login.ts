/** `scheme://user:password@` (or `scheme://user@`) anywhere in a text. */
const URL_LOGIN = /([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:]*)(:[^\s/?#@]*)?@/gi;

/** The text with every URL's login dropped: for messages, which end up in logs and summaries. */
export function stripUserinfo(text: string): string {
  return text.replace(URL_LOGIN, '$1');
}

/** The text with every URL's password replaced, the user kept: for showing a configuration. */
export function redactUrlPasswords(text: string): string {
  return text.replace(URL_LOGIN, (login: string, scheme: string, user: string, password: string | undefined) =>
    password === undefined ? login : `${scheme}${user}:<redacted>@`,
  );
}
