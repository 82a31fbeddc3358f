import nodemailer from 'nodemailer';
import type { Logger } from 'pino';

export type MailPurpose = 'email-verification' | 'password-reset' | 'invitation';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  /** Logged when the mail cannot be sent, to tell which mail failed; the text never is (its links carry tokens). */
  purpose: MailPurpose;
  /** The record the mail is about (an invitation, a user), logged with a failure. */
  recordId?: string;
}

export interface Mailer {
  /**
   * Resolves true once the SMTP server accepted the mail, false if it could not be sent. Never
   * rejects: a failure is logged here, so callers decide only whether to wait for the outcome.
   */
  send(mail: Mail): Promise<boolean>;
  close(): void;
}

/**
 * nodemailer waits up to 2 minutes to connect and 10 minutes on an idle socket by default. Callers
 * that report the outcome (invitations) hold a request open while they wait, so an SMTP host that
 * is filtered or hung must fail within seconds. A relay normally greets and answers each command in
 * well under a second; 20 s of silence mid-transaction still allows for a slow one. `SMTP_URL` query
 * parameters of the same names take precedence (docs/operations.md).
 */
export const SMTP_CONNECTION_TIMEOUT_MS = 10_000;
export const SMTP_GREETING_TIMEOUT_MS = 10_000;
export const SMTP_SOCKET_TIMEOUT_MS = 20_000;

/** A nodemailer transport on `smtpUrl` with the timeouts above: the general mailer's and the campaigns'. */
export const smtpTransport = (smtpUrl: string) =>
  nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: SMTP_CONNECTION_TIMEOUT_MS,
    greetingTimeout: SMTP_GREETING_TIMEOUT_MS,
    socketTimeout: SMTP_SOCKET_TIMEOUT_MS,
  });

/**
 * SMTP through nodemailer when SMTP_URL is set. Without it (development), the
 * mail is written to the log instead, so links such as invitations can be
 * followed from the console.
 */
export function createMailer(options: { smtpUrl?: string | undefined; from: string; logger: Logger }): Mailer {
  const logger = options.logger.child({ component: 'mail' });
  if (!options.smtpUrl) {
    return {
      async send(mail) {
        logger.info({ mailTo: mail.to, subject: mail.subject }, `mail (no SMTP_URL configured):\n${mail.text}`);
        return true;
      },
      close() {},
    };
  }
  const transport = smtpTransport(options.smtpUrl);
  return {
    async send(mail) {
      try {
        await transport.sendMail({ from: options.from, to: mail.to, subject: mail.subject, text: mail.text });
        return true;
      } catch (error) {
        logger.warn({ mailPurpose: mail.purpose, recordId: mail.recordId, smtp: smtpFailure(error) }, 'mail not sent');
        return false;
      }
    },
    close: () => transport.close(),
  };
}

/**
 * What an operator needs to tell a refused connection from a timeout or a rejection. Not the
 * error's message or `response`: an SMTP reply can quote the envelope or the message it refuses.
 */
function smtpFailure(error: unknown): { code?: string; responseCode?: number; command?: string } {
  if (typeof error !== 'object' || error === null) return {};
  const { code, responseCode, command } = error as { code?: unknown; responseCode?: unknown; command?: unknown };
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof responseCode === 'number' ? { responseCode } : {}),
    ...(typeof command === 'string' ? { command } : {}),
  };
}
