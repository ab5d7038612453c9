"""The insurer's organisation tree (总公司 → 分公司 → 中心支公司 → 营业网点) and org-subtree scoping."""
