import { MemoryTokenBudget } from './memory-token-budget.js';
import { tokenBudgetSuite } from './token-budget.suite.js';

tokenBudgetSuite('MemoryTokenBudget', async (now) => {
  const budget = new MemoryTokenBudget({ now });
  return { a: budget, b: budget };
});
