export const en = {
  title: 'Materials',
  subtitle: 'Newspapers, books and magazines, with the stock of your units',
  type: 'Type',
  anyType: 'Any type',
  price: 'Price',
  stock: 'In stock',
  stockTotal: '{{count}} in your units',
  stockByUnit: 'Stock by unit',
  coverOf: 'Cover of {{title}}',
};

export const ptBR: typeof en = {
  title: 'Materiais',
  subtitle: 'Jornais, livros e revistas, com o estoque das suas unidades',
  type: 'Tipo',
  anyType: 'Qualquer tipo',
  price: 'Preço',
  stock: 'Em estoque',
  stockTotal: '{{count}} nas suas unidades',
  stockByUnit: 'Estoque por unidade',
  coverOf: 'Capa de {{title}}',
};
