// Temporal's time-skipping test server for the workflow tier (test/workflows). The SDK downloads
// it from a site this machine cannot reach, so it is the same server's Java build from Maven
// Central, resolved once into the project's cache and run by a small launcher script.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from '../../src/dev/ports.js';
import { cacheDir } from '../../src/dev/temporal.js';

const run = promisify(execFile);

const TEST_SERVER_VERSION = '1.38.0';

const pom = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>campaign-mailer</groupId>
  <artifactId>temporal-test-server-launcher</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>${TEST_SERVER_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`;

/**
 * The path of an executable that runs the time-skipping server (`<exe> <port>`, as the SDK
 * starts it): $TEMPORAL_TEST_SERVER, the cached launcher, or one made now with Maven (about a
 * minute, once). Undefined when there is no Java or Maven: the SDK's own download is tried then.
 */
export async function resolveTimeSkippingServer(say: (line: string) => void = () => {}): Promise<string | undefined> {
  const fromEnv = process.env.TEMPORAL_TEST_SERVER;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TEMPORAL_TEST_SERVER: no file at ${fromEnv}`);
    return fromEnv;
  }
  const dir = join(cacheDir(), `temporal-test-server-${TEST_SERVER_VERSION}`);
  const launcher = join(dir, 'run');
  if (existsSync(join(dir, 'classpath.txt'))) {
    await writeLauncher(dir, launcher, say);
    return launcher;
  }
  try {
    await run('java', ['-version']);
    await run('mvn', ['-v']);
  } catch {
    return undefined;
  }
  say(`Fetching Temporal's time-skipping test server ${TEST_SERVER_VERSION} with Maven into ${dir}; once.`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'pom.xml'), pom);
  const classpathFile = join(dir, 'classpath.txt');
  try {
    await run('mvn', ['-q', '-B', '-f', join(dir, 'pom.xml'), 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`], {
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '').trim().split('\n').slice(-5).join('\n');
    throw new Error(`fetching the time-skipping test server with Maven failed:\n${out}`);
  }
  await writeLauncher(dir, launcher, say);
  return launcher;
}

/**
 * The JVM options every server of the workflow tier runs with: the server lives for one file, and
 * the JIT's quick tier and a serial GC cost it a third less CPU than the JVM's defaults (a
 * 600-child fan-out: 29 s instead of 42 s on the 2-core machine). The class-data archive is made
 * with the same options.
 */
export const TEST_SERVER_JVM_OPTIONS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC';

/**
 * The launcher, with the JVM's class-data archive of the server's classes when one could be made
 * for this Java: a server then starts on 0.2 s of CPU instead of 0.6 s and listens in half the
 * time. The SDK gives a server 5 s to listen; on a loaded 2-core machine a JVM without the archive
 * sometimes took longer, and the file failed before its first test. The archive is named after
 * the Java it was made by, so a new Java makes a new one.
 */
async function writeLauncher(dir: string, launcher: string, say: (line: string) => void): Promise<void> {
  const classpath = (await readFile(join(dir, 'classpath.txt'), 'utf8')).trim();
  const java = (await run('java', ['-version'])).stderr.split('\n')[0]?.match(/"([^"]+)"/)?.[1] ?? 'unknown';
  const archive = join(dir, `classes-java-${java.replace(/[^\w.-]/g, '_')}.jsa`);
  if (existsSync(launcher) && (await readFile(launcher, 'utf8')).includes(archive)) return;
  if (!existsSync(archive)) await makeClassArchive(classpath, archive).catch((err: Error) => say(`no class-data archive for the test server (it starts without one): ${err.message}`));
  const command = (share: string) => `exec java ${share}-cp '${classpath}' io.temporal.testserver.TestServer "$@"`;
  const script = `#!/bin/sh\nif [ -f '${archive}' ]; then ${command(`-XX:SharedArchiveFile='${archive}' `)}; fi\n${command('')}\n`;
  // Written aside and renamed: test files that resolve at the same time never run half a script.
  const partial = `${launcher}.${process.pid}`;
  await writeFile(partial, script);
  await chmod(partial, 0o755);
  await rename(partial, launcher);
}

/** Starts the server once with `-XX:ArchiveClassesAtExit`, waits until it listens, and stops it: the JVM writes the archive as it exits. */
async function makeClassArchive(classpath: string, archive: string): Promise<void> {
  const partial = `${archive}.${process.pid}`;
  const port = await freePort();
  const child = spawn('java', [...TEST_SERVER_JVM_OPTIONS.split(' '), `-XX:ArchiveClassesAtExit=${partial}`, '-cp', classpath, 'io.temporal.testserver.TestServer', String(port)], {
    stdio: 'ignore',
    env: { ...process.env, JAVA_TOOL_OPTIONS: '' },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const deadline = Date.now() + 60_000;
    while (!(await listening(port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('the server did not listen');
      await delay(100);
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  if (!existsSync(partial)) throw new Error('the JVM wrote no archive');
  await rename(partial, archive).catch(async (err: Error) => {
    await rm(partial, { force: true });
    throw err;
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
