import type { Logger } from '../../logger.ts';
import { smtpTransport } from '../../mail/mailer.ts';

/** A campaign email: besides the plain mail, a stable Message-ID and the RFC 8058 unsubscribe headers. */
export interface CampaignMail {
  to: string;
  subject: string;
  text: string;
  /** `<...@host>`, stable per recipient (unsubscribe.ts `campaignMessageId`). */
  messageId: string;
  /** The one-click unsubscribe URL (List-Unsubscribe, with List-Unsubscribe-Post). */
  unsubscribeUrl: string;
}

export interface CampaignMailer {
  send(mail: CampaignMail): Promise<void>;
}

/**
 * SMTP for campaign messages. The server's general mailer (src/mail/mailer.ts)
 * sends plain notifications and has no way to set headers, so campaigns keep
 * their own nodemailer transport on the same SMTP_URL and MAIL_FROM. Without
 * SMTP_URL the mail is logged (ids only), as the general mailer does.
 */
export function createCampaignMailer(options: { smtpUrl?: string | undefined; from: string; logger: Logger }): CampaignMailer {
  if (!options.smtpUrl) {
    return {
      async send(mail) {
        options.logger.info({ messageId: mail.messageId }, 'campaign mail (no SMTP_URL configured)');
      },
    };
  }
  // With the general mailer's timeouts: a hung SMTP host fails a delivery attempt in seconds, well within the job's lease.
  const transport = smtpTransport(options.smtpUrl);
  return {
    async send(mail) {
      await transport.sendMail({
        from: options.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        messageId: mail.messageId,
        headers: {
          'List-Unsubscribe': `<${mail.unsubscribeUrl}>`,
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        },
      });
    },
  };
}
