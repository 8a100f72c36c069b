import type { Strings } from './strings.js';

/**
 * The panel's Spanish strings: a chunk of its own, loaded beside the panel only on pages in Spanish
 * (the launcher's names are in the loader, `LAUNCHER` in strings.ts).
 */
const es: Strings = {
  title: 'Chat',
  hide: 'Minimizar chat',
  newConversation: 'Nueva conversación',
  demo: 'Demo',
  message: 'Mensaje',
  send: 'Enviar',
  stop: 'Detener',
  retry: 'Reintentar',
  copy: 'Copiar',
  copied: 'Copiado',
  helpful: 'Útil',
  notHelpful: 'No es útil',
  typing: 'Escribiendo…',
  cutOff: 'Esta respuesta quedó incompleta.',
  cutShort: 'Recortada al llegar al límite de longitud.',
  error: 'Algo salió mal. Inténtalo de nuevo.',
  retryIn: 'Demasiados mensajes. Inténtalo de nuevo en {s} s.',
  contact: 'Contactar con soporte',
  model: 'Modelo',
  left: 'Quedan {n} caracteres',
  you: 'Tú',
  assistant: 'Asistente',
  person: 'Hablar con una persona',
  email: 'Correo',
  note: 'Nota (opcional)',
  sent: '¡Gracias! El equipo te escribirá a {e}.',
  sources: 'Fuentes',
};

export default es;
