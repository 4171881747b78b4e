/**
 * `npm run tour`: a short tour of the token store on SQLite, no servers needed. It keeps its own
 * database, ./tour.db, so the portal's ./zohooauth.db (`npm start`) is never touched.
 * Two students of Zylker Academy sign in; their tokens are saved; "hours later" a new process
 * finds them by user name and reuses the still-valid access token without a refresh; finally
 * the admin view lists what the store holds, secrets masked. Run it twice: nothing duplicates.
 *
 * The grant-token exchange and refresh against Zoho (or the local emulator) come with the
 * TokenManager; here the tokens Zoho would return are written in directly.
 */
import { randomBytes } from 'node:crypto';
import { OAuthToken, summarizeToken } from 'zoho-token-store';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';

const path = 'tour.db';
const client = { clientId: '1000.ZYLKERACADEMYPORTAL', clientSecret: randomBytes(21).toString('hex') };
const secret = (prefix: string) => `${prefix}.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`;
const students = ['ana.lopez@zylkeracademy.com', 'kenji.sato@zylkeracademy.com'];

console.log(`1. Sign-in: saving the tokens Zoho returned for ${students.length} students in ${path}`);
const portal = new SQLiteStore({ path });
for (const userName of students) {
  const token = new OAuthToken({
    ...client,
    userName,
    refreshToken: secret('1000'),
    accessToken: secret('1000'),
    expiresIn: Date.now() + 3_600_000, // Zoho access tokens live one hour
    redirectURL: 'http://localhost:3000/oauth/callback',
    apiDomain: 'https://www.zohoapis.com',
  });
  await portal.saveToken(token);
  console.log(`   ${userName} → row ${token.getId()}`);
}
await portal.close();

console.log('2. Hours later, a new process: finding each student by user name');
const later = new SQLiteStore({ path });
for (const userName of students) {
  const found = await later.findToken(new OAuthToken({ userName }));
  const minutesLeft = Math.round((Number(found?.getExpiresIn()) - Date.now()) / 60_000);
  const verdict = minutesLeft > 5 ? 'reused as is, no refresh, no login' : 'would be refreshed';
  console.log(`   ${userName}: access token valid ${minutesLeft} more minutes → ${verdict}`);
}

console.log('3. What the store holds (secrets masked):');
const rows = (await later.getTokens()).map(summarizeToken);
console.table(
  rows.map(({ id, userName, accessToken, refreshToken, clientSecret, expiresAt }) => ({
    id,
    userName,
    accessToken,
    refreshToken,
    clientSecret,
    expiresAt,
  })),
);
await later.close();
