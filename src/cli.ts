import { ConfigError, loadConfig, maskedConfig } from './config.ts';
import { grantPlatformAdmin } from './db/bootstrap.ts';
import { citusDdl } from './db/citus.ts';
import { openDatabase } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { seedDemo } from './seed.ts';
import { createServer } from './server.ts';

const USAGE = `Usage: palisade <command>

Commands:
  start     migrate, seed a demo on first start (embedded database), and serve
  migrate   apply pending database migrations
  seed      seed the demo tenants and users into an empty database
  config    print the effective configuration, secrets masked
  platform-admin <email>
            make an existing user an owner of the platform tenant
  citus-ddl print the SQL that shards the schema on Citus (no database needed;
            see docs/operations.md, "Sharding on Citus")
`;

function printSeeded(seeded: Awaited<ReturnType<typeof seedDemo>>): void {
  if (!seeded) return;
  console.log('\nDemo data created. Sign in with (shown once):');
  for (const u of seeded) console.log(`  ${u.tenant.padEnd(9)} ${u.role.padEnd(7)} ${u.email.padEnd(26)} ${u.password}`);
  console.log('');
}

async function main(command: string | undefined): Promise<void> {
  const config = loadConfig();
  switch (command) {
    case 'start': {
      const server = await createServer(config);
      if (config.SEED_DEMO && config.NODE_ENV !== 'production') printSeeded(await seedDemo(server));
      const url = await server.start();
      console.log(`Palisade is running at ${url}  (API docs: ${url}/api/docs, database: ${server.database.kind})`);
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        server.app.log.info({ signal }, 'shutting down');
        // In-flight requests and deliveries get this long; then the process leaves anyway.
        setTimeout(() => {
          server.app.log.error({ graceMs: config.SHUTDOWN_GRACE_MS }, 'shutdown took too long; exiting');
          process.exit(1);
        }, config.SHUTDOWN_GRACE_MS).unref();
        server.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      return;
    }
    case 'migrate': {
      const database = await openDatabase({ url: config.DATABASE_URL, dataDir: `${config.DATA_DIR}/pgdata` });
      await migrate(database);
      await database.close();
      console.log('Migrations applied.');
      return;
    }
    case 'seed': {
      const server = await createServer(config);
      const seeded = await seedDemo(server);
      if (seeded) printSeeded(seeded);
      else console.log('The database has users already; nothing seeded.');
      await server.stop();
      return;
    }
    case 'platform-admin': {
      const email = process.argv[3];
      if (!email) throw new Error('usage: palisade platform-admin <email>');
      // With the request role's own login: an owner that is not a superuser may not switch to that role.
      const database = await openDatabase({
        url: config.DATABASE_URL,
        appUrl: config.APP_DATABASE_URL,
        dataDir: `${config.DATA_DIR}/pgdata`,
      });
      try {
        const [user] = await database.ownerQuery<{ id: string }>('select id from auth.users where lower(email) = lower($1)', [
          email,
        ]);
        if (!user) throw new Error(`no user with email ${email}; sign up first`);
        await grantPlatformAdmin(database, user.id);
        console.log(`${email} is now a platform admin.`);
      } finally {
        await database.close();
      }
      return;
    }
    case 'config':
      console.log(JSON.stringify(maskedConfig(config), null, 2));
      return;
    case 'citus-ddl':
      process.stdout.write(citusDdl());
      return;
    default:
      console.log(USAGE);
      process.exitCode = command ? 2 : 0;
  }
}

main(process.argv[2]).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error('palisade:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
