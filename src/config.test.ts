import { expect, it } from 'vitest';
import { ConfigError, loadConfig, maskedConfig } from './config.ts';

it('uses safe defaults for the embedded start', () => {
  const config = loadConfig({});
  expect(config.PORT).toBe(3000);
  expect(config.DATABASE_URL).toBeUndefined();
  expect(config.DATA_DIR).toBe('./.palisade');
});

it('lists every missing or malformed variable at once', () => {
  expect.assertions(4);
  try {
    loadConfig({ NODE_ENV: 'production', PORT: 'eighty', DATABASE_URL: 'not a url', OIDC_CLIENT_ID: 'x' });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/PORT/);
    expect(problems).toMatch(/DATABASE_URL/);
    expect(problems).toMatch(/AUTH_SECRET: is required in production/);
  }
});

it('masks secrets when printing the configuration', () => {
  const config = loadConfig({ DATABASE_URL: 'postgres://u:hunter2@db/x', AUTH_SECRET: 'a'.repeat(40), PORT: '8080' });
  const printed = JSON.stringify(maskedConfig(config));
  expect(printed).not.toContain('hunter2');
  expect(printed).not.toContain('a'.repeat(40));
  expect(printed).toContain('8080');
});
