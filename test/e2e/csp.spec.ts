/**
 * The app works under its own strict Content-Security-Policy: the home page, a call between two
 * people and the connectivity page run without a single CSP violation.
 */
import { expect, test, type Page } from '@playwright/test';
import { closePeople, expectMediaFlowing, person, signUp } from './media.ts';

test.afterEach(closePeople);

/** Records every CSP violation the page reports (event and console). */
async function watchViolations(page: Page): Promise<string[]> {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) seen.push(m.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  return seen;
}

test('home, a call and the connectivity page run under the CSP without a violation', async ({ browser }) => {
  const ann = await person(browser);
  const ben = await person(browser);
  const violations = [...(await Promise.all([watchViolations(ann), watchViolations(ben)]))];
  await signUp(ann, 'Ann');
  const room = `csp-${Date.now()}`;
  for (const [p, name] of [
    [ann, 'Ann'],
    [ben, 'Ben'],
  ] as const)
    await p.goto(`/call/${room}?name=${name}`);
  for (const p of [ann, ben]) await expect(p.getByTestId('call-status')).toHaveText('Connected');
  await expectMediaFlowing(ben, { video: true });
  await ann.goto('/connectivity');
  await expect(ann.getByRole('heading', { level: 1 })).toBeVisible();
  await ann.waitForTimeout(1_000);
  expect(violations.flat()).toEqual([]);
});
