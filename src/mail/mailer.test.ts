import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { logCapture } from '../../test/support/log-capture.ts';
import { refusingSmtpUrl, SilentSmtpServer, TestInbox } from '../../test/support/smtp.ts';
import { createMailer, type Mail, type Mailer } from './mailer.ts';

const SECRET_LINK = 'https://palisade.test/invitations/accept?token=do-not-log-this-token';
const mail: Mail = {
  to: 'someone@test.example',
  subject: 'An invitation',
  text: `Accept here:\n${SECRET_LINK}\n`,
  purpose: 'invitation',
  recordId: '00000000-0000-4000-8000-000000000001',
};

describe('mailer', () => {
  const log = logCapture();
  const logLines = log.lines;
  const stops: Array<() => unknown> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    logLines.length = 0;
  });

  function mailerFor(smtpUrl: string): Mailer {
    const mailer = createMailer({
      smtpUrl,
      from: 'Palisade <noreply@test.example>',
      logger: pino({ level: 'info' }, log.destination),
    });
    stops.push(() => mailer.close());
    return mailer;
  }

  const failureLogs = () => log.entries().filter((e) => e.msg === 'mail not sent');

  it('resolves true once the SMTP server has the mail', async () => {
    const inbox = new TestInbox();
    const mailer = mailerFor(await inbox.start());
    stops.push(() => inbox.stop());

    expect(await mailer.send(mail)).toBe(true);
    const { match } = await inbox.waitFor(mail.to, /token=([\w-]+)/);
    expect(match[1]).toBe('do-not-log-this-token');
    expect(failureLogs()).toEqual([]);
  });

  it('resolves false when the connection is refused, logging the error code but not the mail', async () => {
    const mailer = mailerFor(await refusingSmtpUrl());

    expect(await mailer.send(mail)).toBe(false);
    expect(failureLogs()).toEqual([
      expect.objectContaining({
        mailPurpose: 'invitation',
        recordId: mail.recordId,
        smtp: expect.objectContaining({ code: expect.any(String) }),
      }),
    ]);
    const everything = logLines.join('');
    expect(everything).not.toContain('do-not-log-this-token');
    expect(everything).not.toContain(mail.to);
  });

  it('gives up on a server that accepts the connection but never greets', async () => {
    const silentSmtp = new SilentSmtpServer();
    const mailer = mailerFor(await silentSmtp.start());
    stops.push(() => silentSmtp.stop());

    expect(await mailer.send(mail)).toBe(false);
    expect(silentSmtp.connections).toBe(1);
    expect(failureLogs()).toEqual([expect.objectContaining({ smtp: expect.objectContaining({ code: 'ETIMEDOUT' }) })]);
  });
});
