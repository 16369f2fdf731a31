from services.offboarding.app import build
from shared.service import serve

serve(build())
