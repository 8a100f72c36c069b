/**
 * The labelled questions of the retrieval quality check, over the demo help centre (demo/help):
 * each question names the article that answers it. `after` gives earlier visitor messages, so a
 * follow-up ("and on my phone?") is judged with its conversation. `page: null` marks questions no
 * article covers: nothing should be given to the model for them. Used by
 * `retrieval-quality.test.ts` (a floor) and `pnpm bench` (recall@3 reported).
 */
export interface LabelledQuestion {
  question: string;
  /** The slug of the article that answers it, or null when none does. */
  page: string | null;
  after?: string[];
}

export const RETRIEVAL_SET: LabelledQuestion[] = [
  { question: 'How do I reset my password?', page: 'reset-password' },
  { question: "I forgot my password and can't sign in", page: 'reset-password' },
  { question: 'The password reset link says it has expired', page: 'reset-password' },
  { question: 'and on my phone?', page: 'reset-password', after: ['How do I reset my password?'] },
  { question: 'what if my company uses Okta for sign in?', page: 'reset-password', after: ['I forgot my password'] },
  { question: 'How do I sign up for an account?', page: 'create-account' },
  { question: "I never got the verification email", page: 'create-account' },
  { question: 'How can I change the email address on my account?', page: 'create-account' },
  { question: 'How do I turn on two-factor authentication?', page: 'two-factor-authentication' },
  { question: 'I lost my phone with the authenticator app', page: 'two-factor-authentication' },
  { question: 'Can I use a YubiKey security key?', page: 'two-factor-authentication' },
  { question: 'how do I make 2FA mandatory for everyone on the team?', page: 'two-factor-authentication' },
  { question: 'How do I invite a teammate?', page: 'invite-teammates' },
  { question: 'What can the Developer role do?', page: 'invite-teammates' },
  { question: 'How do I remove someone from my team?', page: 'invite-teammates' },
  { question: 'Which plan is right for me?', page: 'plans-and-pricing' },
  { question: 'How much does the Pro plan cost?', page: 'plans-and-pricing' },
  { question: 'Is there a free plan?', page: 'plans-and-pricing' },
  { question: 'Do you have discounts for students or non-profits?', page: 'plans-and-pricing' },
  { question: 'and what does Business add?', page: 'plans-and-pricing', after: ['How much does the Pro plan cost?'] },
  { question: 'How do I upgrade my plan?', page: 'change-plan' },
  { question: 'What happens when I downgrade in the middle of a billing cycle?', page: 'change-plan' },
  { question: 'Can I switch from monthly to yearly billing?', page: 'change-plan' },
  { question: 'Where can I download my invoices?', page: 'invoices-and-payments' },
  { question: 'How do I add our VAT number to invoices?', page: 'invoices-and-payments' },
  { question: 'How do I change the credit card we pay with?', page: 'invoices-and-payments' },
  { question: 'My payment failed, what happens now?', page: 'invoices-and-payments' },
  { question: 'How do I cancel my subscription?', page: 'cancel-and-refunds' },
  { question: 'Can I get a refund on my yearly plan?', page: 'cancel-and-refunds' },
  { question: 'How do I delete my team?', page: 'cancel-and-refunds' },
  { question: 'How do I set up SAML single sign-on?', page: 'single-sign-on' },
  { question: 'Does SSO work with Microsoft Entra ID?', page: 'single-sign-on' },
  { question: 'How do I provision users automatically with SCIM?', page: 'single-sign-on' },
  { question: 'How do I create an API key?', page: 'api-keys' },
  { question: 'I accidentally pushed a key to GitHub', page: 'api-keys' },
  { question: "What's the API rate limit?", page: 'api-keys' },
  { question: 'how do I rotate it?', page: 'api-keys', after: ['How do I create an API key?'] },
  { question: 'How do I use my own domain name?', page: 'custom-domains' },
  { question: 'Which DNS record do I need for an apex domain?', page: 'custom-domains' },
  { question: 'Do you support wildcard domains?', page: 'custom-domains' },
  { question: 'My domain says invalid configuration', page: 'domain-troubleshooting' },
  { question: 'The certificate has been pending for hours', page: 'domain-troubleshooting' },
  { question: 'I get too many redirects with Cloudflare', page: 'domain-troubleshooting' },
  { question: 'My deploy failed with JavaScript heap out of memory', page: 'failed-deploys' },
  { question: 'How do I choose the Node.js version for builds?', page: 'failed-deploys' },
  { question: 'The build cannot find a command in my monorepo', page: 'failed-deploys' },
  { question: 'Why does my site show 502 Bad Gateway?', page: '502-errors' },
  { question: 'Which port should my app listen on?', page: '502-errors' },
  { question: 'How do I restore a database backup?', page: 'database-backups' },
  { question: 'How long are database backups kept on Pro?', page: 'database-backups' },
  { question: 'I accidentally deleted rows, can I recover to a point in time?', page: 'database-backups' },
  { question: 'What is the capital of France?', page: null },
  { question: 'Write me a poem about the sea', page: null },
  { question: "What's the weather like tomorrow?", page: null, after: ['How do I reset my password?'] },
  { question: 'Who won the football world cup?', page: null },
];
