// Temporal's time-skipping test server for the workflow tier (test/workflows). The SDK downloads
// it from a site this machine cannot reach, so it is the same server's Java build from Maven
// Central, resolved once into the project's cache and run by a small launcher script.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
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
  if (existsSync(launcher)) return launcher;
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
  const classpath = (await readFile(classpathFile, 'utf8')).trim();
  // Written aside and renamed: test files that resolve at the same time never run half a script.
  const partial = `${launcher}.${process.pid}`;
  await writeFile(partial, `#!/bin/sh\nexec java -cp '${classpath}' io.temporal.testserver.TestServer "$@"\n`);
  await chmod(partial, 0o755);
  await rename(partial, launcher);
  return launcher;
}
