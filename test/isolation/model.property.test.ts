import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ApiClient, type ApiResponse, PASSWORD, signUp, uniqueSlug } from '../support/client.ts';
import { describeEachBackend, startTestServer, type TestServer } from '../support/harness.ts';

/**
 * Random sequences of membership operations across three tenants, run over
 * HTTP and compared after every step with a small in-memory model of who
 * belongs where with which role, which tenant each session has active, and
 * what each request must answer (allowed, or which 403/404/409).
 */

const USERS = 5;
const TENANTS = 3;
const NUM_RUNS = 10;
const MAX_STEPS = 16;

type Role = 'owner' | 'admin' | 'member';
const ROLES: Role[] = ['owner', 'admin', 'member'];

/**
 * Who acts, or whom a step is about, is chosen when the step runs, from the
 * state the model is in by then: mostly among the people the step concerns
 * (members of the tenant, or outsiders to invite), sometimes anyone. Purely
 * random users would almost never be members, and sequences would rarely get
 * past "not a member" to role changes, removals and the last-owner rule.
 */
interface Pick {
  among: 'members' | 'outsiders' | 'anyone';
  n: number;
}

/**
 * `viaHeader` names the tenant with X-Tenant-Id; without it the request acts
 * in the session's active tenant, whatever that is by then.
 */
type Op =
  | { kind: 'invite'; actor: Pick; tenant: number; viaHeader: boolean; target: Pick; role: Role }
  | { kind: 'changeRole'; actor: Pick; tenant: number; viaHeader: boolean; target: Pick; role: Role }
  | { kind: 'remove'; actor: Pick; tenant: number; viaHeader: boolean; target: Pick }
  | { kind: 'leave'; actor: Pick; tenant: number; viaHeader: boolean }
  | { kind: 'updateSettings'; actor: Pick; tenant: number; viaHeader: boolean }
  | { kind: 'listMembers'; actor: Pick; tenant: number; viaHeader: boolean }
  | { kind: 'switch'; actor: Pick; tenant: number }
  | { kind: 'readOther'; actor: Pick; tenant: number };

const pick = (usually: Pick['among'], weight = 3) =>
  fc.record({
    among: fc.oneof({ weight, arbitrary: fc.constant(usually) }, { weight: 1, arbitrary: fc.constant<Pick['among']>('anyone') }),
    n: fc.nat(USERS * 12),
  });
const tenantIndex = fc.integer({ min: 0, max: TENANTS - 1 });
const role = fc.constantFrom(...ROLES);
const scoped = fc.record({ actor: pick('members'), tenant: tenantIndex, viaHeader: fc.boolean() });

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(scoped, pick('outsiders'), role).map(([s, target, r]): Op => ({ kind: 'invite', ...s, target, role: r })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(scoped, pick('members'), role)
      .map(([s, target, r]): Op => ({ kind: 'changeRole', ...s, target, role: r })),
  },
  { weight: 2, arbitrary: fc.tuple(scoped, pick('members')).map(([s, target]): Op => ({ kind: 'remove', ...s, target })) },
  { weight: 2, arbitrary: scoped.map((s): Op => ({ kind: 'leave', ...s })) },
  { weight: 2, arbitrary: scoped.map((s): Op => ({ kind: 'updateSettings', ...s })) },
  { weight: 2, arbitrary: scoped.map((s): Op => ({ kind: 'listMembers', ...s })) },
  { weight: 2, arbitrary: fc.record({ actor: pick('anyone'), tenant: tenantIndex }).map((s): Op => ({ kind: 'switch', ...s })) },
  {
    weight: 2,
    arbitrary: fc.record({ actor: pick('outsiders', 2), tenant: tenantIndex }).map((s): Op => ({ kind: 'readOther', ...s })),
  },
);

type Outcome = { status: number; code?: string };
const allowed = (status = 200): Outcome => ({ status });
const refused = (status: number, code: string): Outcome => ({ status, code });

/** What the system should hold: memberships, join order, active tenants, settings. */
class Model {
  readonly roles = Array.from({ length: TENANTS }, () => new Map<number, Role>());
  /** Each user's current memberships in the order they joined (a new session starts in the first). */
  readonly joined = Array.from({ length: USERS }, () => [] as number[]);
  readonly active: Array<number | null> = Array.from({ length: USERS }, () => null);
  readonly settings: Array<string | undefined> = Array.from({ length: TENANTS }, () => undefined);

  roleOf(tenant: number, user: number): Role | undefined {
    return this.roles[tenant]?.get(user);
  }
  owners(tenant: number): number {
    return [...(this.roles[tenant]?.values() ?? [])].filter((r) => r === 'owner').length;
  }
  join(tenant: number, user: number, role: Role): void {
    this.roles[tenant]?.set(user, role);
    this.joined[user]?.push(tenant);
  }
  part(tenant: number, user: number): void {
    this.roles[tenant]?.delete(user);
    const joined = this.joined[user] ?? [];
    joined.splice(joined.indexOf(tenant), 1);
  }
  /** The user a pick names, among the members of `tenant`, its outsiders, or everyone. */
  resolve(choice: Pick, tenant: number): number {
    const everyone = Array.from({ length: USERS }, (_, u) => u);
    const members = everyone.filter((u) => this.roleOf(tenant, u));
    const candidates =
      choice.among === 'members'
        ? members
        : choice.among === 'outsiders'
          ? everyone.filter((u) => !this.roleOf(tenant, u))
          : everyone;
    const from = candidates.length > 0 ? candidates : everyone;
    return from[choice.n % from.length] as number;
  }

  /**
   * What changing a member's role (`newRole`) or removing them (no
   * `newRole`) answers: admins and owners manage members, anything touching
   * an owner needs an owner, and the last owner stays an owner.
   */
  manage(entered: { tenant: number; role: Role } | Outcome, target: number, newRole?: Role): Outcome {
    if (isOutcome(entered)) return entered;
    if (entered.role === 'member') return refused(403, 'FORBIDDEN');
    const targetRole = this.roleOf(entered.tenant, target);
    if (!targetRole) return refused(404, 'NOT_FOUND');
    if ((targetRole === 'owner' || newRole === 'owner') && entered.role !== 'owner') return refused(403, 'FORBIDDEN');
    const ownerLeavesOffice = targetRole === 'owner' && newRole !== 'owner';
    if (ownerLeavesOffice && this.owners(entered.tenant) <= 1) return refused(409, 'LAST_OWNER');
    return allowed();
  }

  /** What GET /me reports as active: the session's tenant while the user still belongs to it. */
  visibleActive(user: number): number | null {
    const active = this.active[user] ?? null;
    return active !== null && this.roleOf(active, user) ? active : null;
  }

  /**
   * The tenant a tenant-scoped request acts in, as tenantProcedure resolves
   * it: X-Tenant-Id if sent, else the active tenant; the caller must belong.
   */
  enter(op: { actor: number; tenant: number; viaHeader: boolean }): { tenant: number; role: Role } | Outcome {
    const tenant = op.viaHeader ? op.tenant : (this.active[op.actor] ?? null);
    if (tenant === null) return refused(403, 'NO_ACTIVE_TENANT');
    const role = this.roleOf(tenant, op.actor);
    return role ? { tenant, role } : refused(403, 'TENANT_ACCESS_DENIED');
  }
}

/** An operation with its people chosen: the model's state decides who a pick names. */
interface Step {
  kind: Op['kind'];
  actor: number;
  tenant: number;
  viaHeader: boolean;
  target: number;
  role: Role;
}

function resolveStep(model: Model, op: Op): Step {
  const actor = model.resolve(op.actor, op.tenant);
  const viaHeader = 'viaHeader' in op ? op.viaHeader : false;
  // Targets are chosen in the tenant the request will act in.
  const entered = model.enter({ actor, tenant: op.tenant, viaHeader });
  const about = isOutcome(entered) ? op.tenant : entered.tenant;
  const target = 'target' in op ? model.resolve(op.target, about) : actor;
  return { kind: op.kind, actor, tenant: op.tenant, viaHeader, target, role: 'role' in op ? op.role : 'member' };
}

const isOutcome = (x: unknown): x is Outcome => typeof (x as Outcome).status === 'number';

interface World {
  users: ApiClient[];
  tenantIds: string[];
  /** One audit entry of each tenant: the object other tenants try to read. */
  auditIds: string[];
  model: Model;
}

describeEachBackend('membership model (property-based)', (backend) => {
  let t: TestServer;
  let steps = 0;
  let refusals = 0;
  let successes = 0;

  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(() => t?.close());

  async function newWorld(): Promise<World> {
    const users = await Promise.all(Array.from({ length: USERS }, (_, i) => signUp(t.url, `model-u${i}`, `Model user ${i}`)));
    const model = new Model();
    const tenantIds = await Promise.all(
      Array.from({ length: TENANTS }, async (_, i) => {
        const res = await users[i]?.post('/api/v1/tenants', { name: `Model tenant ${i}`, slug: uniqueSlug('model') });
        if (res?.status !== 201) throw new Error(`create tenant: ${res?.status} ${JSON.stringify(res?.body)}`);
        return res.body.id as string;
      }),
    );
    for (let i = 0; i < TENANTS; i++) {
      model.join(i, i, 'owner');
      model.active[i] = i;
    }
    const auditIds: string[] = [];
    for (const id of tenantIds) {
      const [row] = await t.ownerQuery<{ id: string }>('select id from app.audit_log where tenant_id = $1 limit 1', [id]);
      auditIds.push(row?.id as string);
    }
    return { users, tenantIds, auditIds, model };
  }

  /** Asserts one response against the model's expectation. */
  function expectOutcome(res: ApiResponse, expected: Outcome, what: string): boolean {
    const message = `${what}: got ${res.status} ${JSON.stringify(res.body?.error ?? res.body)}`;
    expect(res.status, message).toBe(expected.status);
    if (expected.code) expect(res.body?.error?.code, message).toBe(expected.code);
    steps++;
    if (res.status < 300) successes++;
    else refusals++;
    return res.status < 300;
  }

  async function signInAgain(world: World, u: number): Promise<void> {
    const client = world.users[u] as ApiClient;
    client.clearSession();
    const res = await client.post('/api/auth/sign-in/email', { email: client.email, password: PASSWORD });
    expect(res.status, 'sign in again').toBe(200);
    // A new session starts in the tenant the user joined first (auth.ts, firstTenantOf).
    world.model.active[u] = world.model.joined[u]?.[0] ?? null;
  }

  /** The user's view of themselves must match the model: tenants, roles, active tenant. */
  async function expectMe(world: World, u: number, what: string): Promise<void> {
    const { model, tenantIds } = world;
    const me = await (world.users[u] as ApiClient).get('/api/v1/me');
    expect(me.status, `${what}: /me of user ${u}`).toBe(200);
    const expectedTenants = tenantIds
      .map((id, i) => ({ id, role: model.roleOf(i, u) }))
      .filter((x) => x.role !== undefined)
      .sort((a, b) => a.id.localeCompare(b.id));
    const actualTenants = (me.body.tenants as Array<{ id: string; role: Role }>)
      .map(({ id, role: r }) => ({ id, role: r }))
      .sort((a, b) => a.id.localeCompare(b.id));
    expect(actualTenants, `${what}: tenants of user ${u}`).toEqual(expectedTenants);
    const active = model.visibleActive(u);
    expect(me.body.activeTenantId, `${what}: active tenant of user ${u}`).toBe(active === null ? null : tenantIds[active]);
  }

  async function run(world: World, op: Op): Promise<void> {
    const { model, tenantIds, users } = world;
    const step = resolveStep(model, op);
    const actor = users[step.actor] as ApiClient;
    // For messages: the step as it ran, without the fields this kind of step does not use.
    const what = JSON.stringify({
      ...step,
      viaHeader: 'viaHeader' in op ? step.viaHeader : undefined,
      target: 'target' in op ? step.target : undefined,
      role: 'role' in op ? step.role : undefined,
    });
    const headers = step.viaHeader ? { 'x-tenant-id': tenantIds[step.tenant] as string } : undefined;

    switch (step.kind) {
      case 'invite': {
        const entered = model.enter(step);
        const target = users[step.target] as ApiClient;
        let expected: Outcome;
        if (isOutcome(entered)) expected = entered;
        else if (entered.role === 'member' || (step.role === 'owner' && entered.role !== 'owner'))
          expected = refused(403, 'FORBIDDEN');
        else if (model.roleOf(entered.tenant, step.target)) expected = refused(409, 'ALREADY_MEMBER');
        else expected = allowed(201);
        // Invitation mails only: the verification mail of the target's sign-up is not waited for, and may
        // arrive at any time.
        const invitationsTo = (email: string) =>
          t.inbox.messages.filter((m) => m.to.includes(email.toLowerCase()) && m.text.includes('/invitations/accept?token='));
        const mailsBefore = invitationsTo(target.email).length;
        const res = await actor.post('/api/v1/invitations', { email: target.email, role: step.role }, headers);
        if (expectOutcome(res, expected, what) && !isOutcome(entered)) {
          // The invitation mail is delivered before the response; take the newest one.
          const mails = invitationsTo(target.email);
          expect(mails.length, `${what}: invitation mail`).toBe(mailsBefore + 1);
          const token = /invitations\/accept\?token=([A-Za-z0-9_-]+)/.exec(mails.at(-1)?.text ?? '')?.[1];
          const accepted = await target.post('/api/v1/invitations/accept', { token });
          expectOutcome(accepted, allowed(200), `${what} (accept)`);
          model.join(entered.tenant, step.target, step.role);
          model.active[step.target] = entered.tenant;
        }
        await expectMe(world, step.target, what);
        break;
      }

      case 'changeRole': {
        const entered = model.enter(step);
        const targetRole = isOutcome(entered) ? undefined : model.roleOf(entered.tenant, step.target);
        const expected = model.manage(entered, step.target, step.role);
        const res = await actor.patch(`/api/v1/members/${users[step.target]?.userId}`, { role: step.role }, headers);
        if (expectOutcome(res, expected, what) && !isOutcome(entered)) {
          expect(res.body.role).toBe(step.role);
          model.roles[entered.tenant]?.set(step.target, step.role);
          // A changed role ends the member's sessions (members/procedures.ts); they sign in again.
          if (targetRole !== step.role && step.target !== step.actor) await signInAgain(world, step.target);
        }
        await expectMe(world, step.target, what);
        break;
      }

      case 'remove': {
        const entered = model.enter(step);
        const expected = model.manage(entered, step.target);
        const res = await actor.delete(`/api/v1/members/${users[step.target]?.userId}`, headers);
        if (expectOutcome(res, expected, what) && !isOutcome(entered)) model.part(entered.tenant, step.target);
        await expectMe(world, step.target, what);
        break;
      }

      case 'leave': {
        const entered = model.enter(step);
        let expected: Outcome;
        if (isOutcome(entered)) expected = entered;
        else if (entered.role === 'owner' && model.owners(entered.tenant) <= 1) expected = refused(409, 'LAST_OWNER');
        else expected = allowed();
        const res = await actor.post('/api/v1/members/leave', {}, headers);
        if (expectOutcome(res, expected, what) && !isOutcome(entered)) {
          model.part(entered.tenant, step.actor);
          if (model.active[step.actor] === entered.tenant) model.active[step.actor] = null;
        }
        break;
      }

      case 'updateSettings': {
        const entered = model.enter(step);
        let expected: Outcome;
        if (isOutcome(entered)) expected = entered;
        else if (entered.role === 'member') expected = refused(403, 'FORBIDDEN');
        else expected = allowed();
        const marker = `step-${steps}`;
        const res = await actor.patch('/api/v1/tenants/current', { settings: { marker } }, headers);
        if (expectOutcome(res, expected, what) && !isOutcome(entered)) {
          expect(res.body.id).toBe(tenantIds[entered.tenant]);
          expect(res.body.settings).toEqual({ marker });
          model.settings[entered.tenant] = marker;
        }
        break;
      }

      case 'listMembers': {
        const entered = model.enter(step);
        const res = await actor.get('/api/v1/members?limit=100', headers);
        if (expectOutcome(res, isOutcome(entered) ? entered : allowed(), what) && !isOutcome(entered)) {
          const expectedMembers = [...(model.roles[entered.tenant]?.entries() ?? [])]
            .map(([u, r]) => ({ userId: users[u]?.userId, role: r }))
            .sort((a, b) => String(a.userId).localeCompare(String(b.userId)));
          const listed = (res.body.items as Array<{ userId: string; role: Role }>)
            .map(({ userId, role: r }) => ({ userId, role: r }))
            .sort((a, b) => a.userId.localeCompare(b.userId));
          expect(listed, `${what}: members`).toEqual(expectedMembers);
        }
        break;
      }

      case 'switch': {
        const role = model.roleOf(step.tenant, step.actor);
        const res = await actor.post('/api/v1/tenants/switch', { tenantId: tenantIds[step.tenant] });
        if (expectOutcome(res, role ? allowed() : refused(403, 'TENANT_ACCESS_DENIED'), what)) {
          expect(res.body).toEqual({ activeTenantId: tenantIds[step.tenant], role });
          model.active[step.actor] = step.tenant;
        }
        break;
      }

      case 'readOther': {
        // The tenant itself, named by X-Tenant-Id.
        const role = model.roleOf(step.tenant, step.actor);
        const current = await actor.get('/api/v1/tenants/current', { 'x-tenant-id': tenantIds[step.tenant] as string });
        if (expectOutcome(current, role ? allowed() : refused(403, 'TENANT_ACCESS_DENIED'), `${what} (tenant)`)) {
          expect(current.body.id).toBe(tenantIds[step.tenant]);
          expect(current.body.role).toBe(role);
          expect(current.body.settings.marker).toBe(model.settings[step.tenant]);
        }
        // One of its audit entries, by id, from the session's active tenant (admins and owners only).
        const entered = model.enter({ actor: step.actor, tenant: step.tenant, viaHeader: false });
        let expected: Outcome;
        if (isOutcome(entered)) expected = entered;
        else if (entered.role === 'member') expected = refused(403, 'FORBIDDEN');
        else if (entered.tenant !== step.tenant) expected = refused(404, 'NOT_FOUND');
        else expected = allowed();
        const entry = await actor.get(`/api/v1/audit-log/${world.auditIds[step.tenant]}`);
        if (expectOutcome(entry, expected, `${what} (audit entry)`)) expect(entry.body.id).toBe(world.auditIds[step.tenant]);
        break;
      }
    }
    await expectMe(world, step.actor, what);
  }

  /** The database agrees with the model, and every tenant kept an owner. */
  async function expectStored(world: World): Promise<void> {
    const rows = await t.ownerQuery<{ tenant_id: string; user_id: string; role: Role }>(
      'select tenant_id, user_id, role from app.memberships where tenant_id = any($1::uuid[]) order by tenant_id, user_id',
      [world.tenantIds],
    );
    const expected = world.tenantIds
      .flatMap((tenantId, i) =>
        [...(world.model.roles[i]?.entries() ?? [])].map(([u, r]) => ({
          tenant_id: tenantId,
          user_id: world.users[u]?.userId,
          role: r,
        })),
      )
      .sort((a, b) => `${a.tenant_id}${a.user_id}`.localeCompare(`${b.tenant_id}${b.user_id}`));
    const actual = rows.map((r) => ({ tenant_id: r.tenant_id, user_id: r.user_id, role: r.role }));
    expect(actual.sort((a, b) => `${a.tenant_id}${a.user_id}`.localeCompare(`${b.tenant_id}${b.user_id}`))).toEqual(expected);
    for (let i = 0; i < TENANTS; i++) expect(world.model.owners(i), `tenant ${i} keeps an owner`).toBeGreaterThan(0);
  }

  it('matches the model after every step', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: MAX_STEPS }), async (ops) => {
        runs++;
        const world = await newWorld();
        for (const op of ops) await run(world, op);
        await expectStored(world);
      }),
      { numRuns: NUM_RUNS },
    );
    // The property really ran, and both sides of the model were exercised.
    expect(runs).toBeGreaterThanOrEqual(NUM_RUNS);
    expect(successes).toBeGreaterThan(0);
    expect(refusals).toBeGreaterThan(0);
  }, 240_000);
});
