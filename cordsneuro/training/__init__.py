"""cordsneuro.training"""
