export const en = {
  title: 'Dues',
};

export const ptBR: typeof en = {
  title: 'Mensalidades',
};
