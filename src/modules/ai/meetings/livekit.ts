import { AccessToken } from 'livekit-server-sdk';
import { AppError } from '../../../api/errors.ts';
import type { Config } from '../../../config.ts';

/** How long a join token admits its holder to the room: long enough to connect, short enough that a leaked one is soon useless. */
export const JOIN_TOKEN_TTL_SECONDS = 10 * 60;

export interface LiveKitSettings {
  url: string;
  apiKey: string;
  apiSecret: string;
}

/** The LiveKit server from configuration, or MEETINGS_NOT_CONFIGURED (503) when any of the three settings is missing. */
export function liveKitSettings(config: Pick<Config, 'LIVEKIT_URL' | 'LIVEKIT_API_KEY' | 'LIVEKIT_API_SECRET'>): LiveKitSettings {
  const { LIVEKIT_URL: url, LIVEKIT_API_KEY: apiKey, LIVEKIT_API_SECRET: apiSecret } = config;
  if (!url || !apiKey || !apiSecret) throw new AppError('MEETINGS_NOT_CONFIGURED');
  return { url, apiKey, apiSecret };
}

/**
 * A join token for one room only: the grant names the room, so it admits
 * its holder nowhere else, and it expires after JOIN_TOKEN_TTL_SECONDS.
 * Signed with the API secret (HS256), as LiveKit verifies it.
 */
export async function joinToken(
  settings: LiveKitSettings,
  input: { room: string; identity: string; name: string },
): Promise<{ token: string; expiresAt: Date }> {
  const token = new AccessToken(settings.apiKey, settings.apiSecret, {
    identity: input.identity,
    name: input.name,
    ttl: JOIN_TOKEN_TTL_SECONDS,
  });
  token.addGrant({
    room: input.room,
    roomJoin: true,
    roomCreate: false,
    roomList: false,
    roomAdmin: false,
    canPublish: true,
    canSubscribe: true,
    canPublishData: true,
  });
  const issuedAt = Date.now();
  return { token: await token.toJwt(), expiresAt: new Date(issuedAt + JOIN_TOKEN_TTL_SECONDS * 1000) };
}
