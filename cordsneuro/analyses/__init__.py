"""cordsneuro.analyses"""
