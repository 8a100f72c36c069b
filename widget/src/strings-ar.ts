import type { Strings } from './strings.js';

/**
 * The panel's Arabic strings: a chunk of its own, loaded beside the panel only on pages in Arabic
 * (the launcher's names are in the loader, `LAUNCHER` in strings.ts).
 */
const ar: Strings = {
  title: 'محادثة',
  hide: 'تصغير المحادثة',
  newConversation: 'محادثة جديدة',
  demo: 'تجريبي',
  message: 'الرسالة',
  send: 'إرسال',
  stop: 'إيقاف',
  retry: 'إعادة المحاولة',
  copy: 'نسخ',
  copied: 'تم النسخ',
  helpful: 'مفيد',
  notHelpful: 'غير مفيد',
  typing: 'يكتب…',
  cutOff: 'انقطع هذا الرد.',
  cutShort: 'اقتُطع الرد عند حد الطول.',
  error: 'حدث خطأ ما. يرجى المحاولة مرة أخرى.',
  retryIn: 'رسائل كثيرة جدًا. حاول مرة أخرى بعد {s} ثانية.',
  contact: 'التواصل مع الدعم',
  model: 'النموذج',
  left: 'متبقٍ {n} حرفًا',
  you: 'أنت',
  assistant: 'المساعد',
  person: 'التحدث إلى شخص',
  email: 'البريد الإلكتروني',
  note: 'ملاحظة (اختيارية)',
  sent: 'شكرًا! سيراسلك الفريق على {e}.',
  sources: 'المصادر',
};

export default ar;
