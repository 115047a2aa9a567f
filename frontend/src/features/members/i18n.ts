export const en = {
  title: 'Members',
};

export const ptBR: typeof en = {
  title: 'Membros',
};
