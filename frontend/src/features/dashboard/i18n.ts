export const en = {
  title: 'Dashboard',
};

export const ptBR: typeof en = {
  title: 'Painel',
};
