import { afterEach, describe, expect, it } from 'vitest';
import { createLocalBroker, type RealtimeBroker } from './broker.ts';
import { RealtimeHub, type RealtimeHubOptions, type Subscriber } from './hub.ts';
import { makeEvent, RecordingConnection, silentLogger, subscriber } from './test-support.ts';

describe('realtime hub with the local broker', () => {
  let broker: RealtimeBroker;
  let hub: RealtimeHub;

  function start(options: Partial<RealtimeHubOptions> = {}) {
    broker = createLocalBroker();
    hub = new RealtimeHub({ broker, logger: silentLogger, ...options });
  }

  function connect(who: Subscriber, types?: string[]) {
    const connection = new RecordingConnection(who, types);
    const remove = hub.add(connection);
    return Object.assign(connection, { remove });
  }

  afterEach(async () => {
    hub.closeAll(1001, 'test over');
    await broker.close();
  });

  it("delivers a tenant's events only to that tenant's connections", async () => {
    start();
    const acme = connect(subscriber('acme', 'u1'));
    const acmeKey = connect(subscriber('acme', null, 'k1'));
    const globex = connect(subscriber('globex', 'u2'));
    const a1 = makeEvent('acme', 'contact.created', { id: 'c1' });
    const g1 = makeEvent('globex', 'contact.created', { id: 'c2' });
    const a2 = makeEvent('acme', 'contact.updated', { id: 'c1' });
    for (const event of [a1, g1, a2]) await broker.publish(event);

    expect(acme.eventIds).toEqual([a1.id, a2.id]);
    expect(acmeKey.eventIds).toEqual([a1.id, a2.id]);
    expect(globex.eventIds).toEqual([g1.id]);
    // The frame is the webhook body plus the id: no tenant id, nothing else.
    expect(globex.frames[0]).toEqual({
      type: 'event',
      event: { id: g1.id, type: 'contact.created', timestamp: g1.timestamp, data: { id: 'c2' } },
    });
    expect(hub.size).toBe(3);
  });

  it('applies type filters: *, exact types, resource.*, and none', async () => {
    start();
    // An admin, who may see every type, even one missing from the catalogue (`contacts.created`).
    const admin = subscriber('acme', 'u1', null, 'admin');
    const all = connect(admin, ['*']);
    const contacts = connect(admin, ['contact.*']);
    const exact = connect(admin, ['member.created', 'tenant.updated']);
    const none = connect(admin, []);
    const events = ['contact.created', 'member.created', 'contacts.created', 'tenant.updated'].map((t) => makeEvent('acme', t));
    for (const event of events) await broker.publish(event);
    const typesOf = (c: RecordingConnection) => c.frames.flatMap((f) => (f.type === 'event' ? [f.event.type] : []));

    expect(typesOf(all)).toEqual(['contact.created', 'member.created', 'contacts.created', 'tenant.updated']);
    expect(typesOf(contacts)).toEqual(['contact.created']);
    expect(typesOf(exact)).toEqual(['member.created', 'tenant.updated']);
    expect(typesOf(none)).toEqual([]);
    // A connection's filter is read at delivery time, so a new subscription takes effect at once.
    none.types = ['member.*'];
    await broker.publish(makeEvent('acme', 'member.updated'));
    expect(typesOf(none)).toEqual(['member.updated']);
  });

  it('delivers an event only to connections whose role may see its type, keys up to their role ceiling', async () => {
    start();
    const member = connect(subscriber('acme', 'u1', null, 'member'));
    const admin = connect(subscriber('acme', 'u2', null, 'admin'));
    const owner = connect(subscriber('acme', 'u3', null, 'owner'));
    const memberKey = connect(subscriber('acme', null, 'k1', 'member'));
    const adminKey = connect(subscriber('acme', null, 'k2', 'admin'));
    const endpoint = makeEvent('acme', 'webhook_endpoint.created', { id: 'w1', url: 'https://hooks.slack.com/services/secret' });
    const key = makeEvent('acme', 'api_key.created', { apiKeyId: 'k3', name: 'ci', role: 'admin', scopes: [] });
    const uncatalogued = makeEvent('acme', 'not_in_the.catalogue');
    const contact = makeEvent('acme', 'contact.created', { id: 'c1' });
    for (const event of [endpoint, key, uncatalogued, contact]) await broker.publish(event);

    const everything = [endpoint.id, key.id, uncatalogued.id, contact.id];
    expect(admin.eventIds).toEqual(everything);
    expect(owner.eventIds).toEqual(everything);
    expect(adminKey.eventIds).toEqual(everything);
    expect(member.eventIds).toEqual([contact.id]);
    expect(memberKey.eventIds).toEqual([contact.id]);
  });

  it("member.updated with another role closes that user's connections in that tenant before delivery, to reconnect under it", async () => {
    start();
    const demoted = connect(subscriber('acme', 'u1', null, 'admin'));
    const demotedOtherTab = connect(subscriber('acme', 'u1', null, 'admin'));
    const elsewhere = connect(subscriber('globex', 'u1', null, 'admin'));
    const colleague = connect(subscriber('acme', 'u2', null, 'admin'));
    const change = makeEvent('acme', 'member.updated', { userId: 'u1', role: 'member' });
    await broker.publish(change);

    for (const tab of [demoted, demotedOtherTab]) {
      expect(tab.closed).toEqual({ code: 4409, reason: 'role changed' });
      expect(tab.eventIds).toEqual([]);
    }
    expect(elsewhere.closed).toBeUndefined();
    expect(colleague.eventIds).toEqual([change.id]);

    // A socket opened under the new role stays: the event it hears is about the role it already has.
    const reconnected = connect(subscriber('acme', 'u1', null, 'member'));
    const again = makeEvent('acme', 'member.updated', { userId: 'u1', role: 'member' });
    await broker.publish(again);
    expect(reconnected.closed).toBeUndefined();
    expect(reconnected.eventIds).toEqual([again.id]);
    expect(hub.size).toBe(3);
  });

  it("member.deleted closes that user's connections in that tenant only, before the event is delivered", async () => {
    start();
    const tab1 = connect(subscriber('acme', 'u1'));
    const tab2 = connect(subscriber('acme', 'u1'));
    const elsewhere = connect(subscriber('globex', 'u1'));
    const colleague = connect(subscriber('acme', 'u2'));
    const removal = makeEvent('acme', 'member.deleted', { userId: 'u1' });
    await broker.publish(removal);

    for (const tab of [tab1, tab2]) {
      expect(tab.closed).toEqual({ code: 4403, reason: 'membership removed' });
      expect(tab.eventIds).toEqual([]);
    }
    expect(elsewhere.closed).toBeUndefined();
    expect(colleague.closed).toBeUndefined();
    expect(colleague.eventIds).toEqual([removal.id]);
    expect(hub.size).toBe(2);

    // Closed connections are out of the index: later events do not reach them.
    const later = makeEvent('acme', 'contact.created');
    await broker.publish(later);
    expect(tab1.eventIds).toEqual([]);
    expect(colleague.eventIds).toEqual([removal.id, later.id]);
    // The socket's own close handler calls remove afterwards; that is harmless.
    tab1.remove();
    expect(hub.size).toBe(2);
  });

  it("api_key.revoked closes that key's connections with 4401", async () => {
    start();
    const key = connect(subscriber('acme', null, 'k1'));
    const otherKey = connect(subscriber('acme', null, 'k2'));
    const sameIdOtherTenant = connect(subscriber('globex', null, 'k1'));
    const user = connect(subscriber('acme', 'u1'));
    await broker.publish(makeEvent('acme', 'api_key.revoked', { apiKeyId: 'k1' }));

    expect(key.closed).toEqual({ code: 4401, reason: 'api key revoked' });
    expect(otherKey.closed).toBeUndefined();
    expect(sameIdOtherTenant.closed).toBeUndefined();
    expect(user.closed).toBeUndefined();
    expect(hub.size).toBe(3);
  });

  it('revalidation closes connections whose subscriber is no longer valid, checking each subscriber once', async () => {
    const checked: string[] = [];
    start({
      revalidate: async (s) => {
        checked.push(`${s.tenantId}/${s.userId ?? s.apiKeyId}`);
        if (s.userId === 'broken') throw new Error('database unavailable');
        if (s.userId === 'demoted') return 'member';
        return s.userId === 'gone' ? null : s.role;
      },
    });
    const gone1 = connect(subscriber('acme', 'gone'));
    const gone2 = connect(subscriber('acme', 'gone'));
    const stays = connect(subscriber('acme', 'u1'));
    const unknown = connect(subscriber('acme', 'broken'));
    const goneElsewhere = connect(subscriber('globex', 'gone'));
    // Its role changed and this process missed the event: the client must reconnect under the new role.
    const demoted = connect(subscriber('acme', 'demoted', null, 'admin'));
    await hub.revalidateNow();

    expect(demoted.closed).toEqual({ code: 4409, reason: 'role changed' });

    expect(gone1.closed).toEqual({ code: 4403, reason: 'access revoked' });
    expect(gone2.closed).toEqual({ code: 4403, reason: 'access revoked' });
    expect(goneElsewhere.closed).toEqual({ code: 4403, reason: 'access revoked' });
    expect(stays.closed).toBeUndefined();
    // A failing check keeps the connection: the next round tries again.
    expect(unknown.closed).toBeUndefined();
    expect(checked.sort()).toEqual(['acme/broken', 'acme/demoted', 'acme/gone', 'acme/u1', 'globex/gone']);
    expect(hub.size).toBe(2);
  });

  it('revalidates on its timer', async () => {
    start({ revalidate: async (s) => (s.userId === 'gone' ? null : s.role), revalidateEveryMs: 10 });
    const gone = connect(subscriber('acme', 'gone'));
    const stays = connect(subscriber('acme', 'u1'));
    await expect.poll(() => gone.closed, { timeout: 5_000 }).toEqual({ code: 4403, reason: 'access revoked' });
    expect(stays.closed).toBeUndefined();
  });

  it('closeAll closes every connection, stops delivery and refuses new connections', async () => {
    start();
    const a = connect(subscriber('acme', 'u1'));
    const b = connect(subscriber('globex', 'u2'));
    hub.closeAll(1001, 'server shutting down');
    expect(a.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(b.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(hub.size).toBe(0);

    await broker.publish(makeEvent('acme', 'contact.created'));
    expect(a.eventIds).toEqual([]);
    const late = connect(subscriber('acme', 'u3'));
    expect(late.closed?.code).toBe(1001);
    expect(hub.size).toBe(0);
  });

  it('keeps delivering to other connections when one send throws', async () => {
    start();
    const broken = connect(subscriber('acme', 'u1'));
    broken.send = () => {
      throw new Error('socket gone');
    };
    const healthy = connect(subscriber('acme', 'u2'));
    const event = makeEvent('acme', 'contact.created');
    await broker.publish(event);
    expect(healthy.eventIds).toEqual([event.id]);
  });
});
