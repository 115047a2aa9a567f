export const en = {
  title: 'Payments',
};

export const ptBR: typeof en = {
  title: 'Pagamentos',
};
