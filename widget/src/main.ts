import { render } from 'preact';
import { signal } from '@preact/signals';
const count = signal(0);
function App() { return null; }
render(App as any, document.body);
console.log(count.value);
