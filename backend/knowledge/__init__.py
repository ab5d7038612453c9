"""Knowledge base: categories, articles, submit → review → publish, jieba search."""
